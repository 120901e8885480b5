// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graphistrytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Column describes one column of an uploaded table.
type Column struct {
	Name string
	// Type is the Arrow data type as printed by arrow-go, e.g. "utf8",
	// "int64", "timestamp[us, tz=UTC]".
	Type     string
	Nullable bool
}

// Table is an uploaded Arrow IPC file decoded into rows.
type Table struct {
	Columns []Column
	// Rows holds one map per row from column name to value. Values are what
	// arrow-go's GetOneForMarshal returns: string for utf8 (and dictionary of
	// utf8), int64/int32/... for integers, float64 for doubles, bool, and nil
	// for nulls.
	Rows []map[string]any
	// ContentType is the Content-Type header of the upload request.
	ContentType string
	// Size is the number of bytes of the uploaded file.
	Size int
}

// ColumnNames returns the names of the table's columns in schema order.
func (t *Table) ColumnNames() []string {
	if t == nil {
		return nil
	}
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

// DecodeArrowFile decodes Arrow IPC *file* format bytes (what pygraphistry's
// arrow_to_buffer writes with pa.RecordBatchFileWriter) into a [Table].
func DecodeArrowFile(b []byte) (table *Table, err error) {
	defer func() {
		// Malformed input must give an error, never take the test server down.
		if p := recover(); p != nil {
			table, err = nil, fmt.Errorf("arrow decoder panic: %v", p)
		}
	}()
	rdr, err := ipc.NewFileReader(bytes.NewReader(b), ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rdr.Close() }()
	schema := rdr.Schema()
	t := &Table{Size: len(b), Rows: []map[string]any{}}
	for _, f := range schema.Fields() {
		t.Columns = append(t.Columns, Column{Name: f.Name, Type: f.Type.String(), Nullable: f.Nullable})
	}
	for i := 0; i < rdr.NumRecords(); i++ {
		rec, err := rdr.RecordBatch(i)
		if err != nil {
			return nil, err
		}
		for row := 0; row < int(rec.NumRows()); row++ {
			m := make(map[string]any, len(t.Columns))
			for c := 0; c < int(rec.NumCols()); c++ {
				m[schema.Field(c).Name] = rec.Column(c).GetOneForMarshal(row)
			}
			t.Rows = append(t.Rows, m)
		}
	}
	return t, nil
}

// handleCreateDataset follows pygraphistry arrow_uploader.py create_dataset()
// (and graphistry-js Dataset.ts createDataset): POST /api/v2/upload/datasets/
// with Bearer auth and JSON {"node_encodings","edge_encodings","metadata",
// "name","description", ?"org_name"}; answers {"success": true, "data":
// {"dataset_id"}} (Hub docs /docs/api/2/rest/upload/). Edge encodings must
// bind "source" and "destination", the check pygraphistry runs client side in
// validate/validate_encodings.py validate_edge_encodings; failures answer 400
// {"success": false, "message"}.
func (s *Server) handleCreateDataset(w http.ResponseWriter, r *http.Request) {
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	var body map[string]any
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "Invalid JSON body: " + err.Error()})
		return
	}
	fail := func(status int, msg string) {
		writeJSON(w, status, map[string]any{"success": false, "message": msg})
	}
	nodeEnc, ok1 := objectField(body, "node_encodings")
	edgeEnc, ok2 := objectField(body, "edge_encodings")
	metadata, ok3 := objectField(body, "metadata")
	if !ok1 || !ok2 || !ok3 {
		fail(http.StatusBadRequest, "node_encodings, edge_encodings and metadata must be JSON objects")
		return
	}
	if edgeEnc == nil {
		fail(http.StatusBadRequest, "Missing field edge_encodings")
		return
	}
	if msg := checkBindings(edgeEnc, "edge", "source", "destination"); msg != "" {
		fail(http.StatusBadRequest, msg)
		return
	}
	if nodeEnc != nil {
		if msg := checkBindings(nodeEnc, "node"); msg != "" {
			fail(http.StatusBadRequest, msg)
			return
		}
	}
	name, _ := body["name"].(string)
	desc, _ := body["description"].(string)
	org, _ := body["org_name"].(string)
	if org != "" {
		members, found := s.opts.Orgs[org]
		if !found {
			fail(http.StatusNotFound, "Organization "+org+" not found")
			return
		}
		if !contains(members, c.Username) {
			fail(http.StatusForbidden, "You are not a member of "+org)
			return
		}
	}
	d := &Dataset{
		ID:            newID(),
		Owner:         c.Username,
		OrgName:       org,
		Name:          name,
		Description:   desc,
		NodeEncodings: nodeEnc,
		EdgeEncodings: edgeEnc,
		Metadata:      metadata,
		Request:       body,
	}
	s.mu.Lock()
	d.ActiveOrg = s.activeOrg[c.Username]
	s.datasets[d.ID] = d
	s.order = append(s.order, d.ID)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": map[string]any{"dataset_id": d.ID}})
}

// handleArrow follows pygraphistry arrow_uploader.py post_arrow() /
// post_arrow_generic(): POST /api/v2/upload/datasets/{dataset_id}/{edges|nodes}/arrow
// with Bearer auth and the Arrow IPC file bytes as the body; answers
// {"success": true, "message": "Dataset edges created", "data": {"dataset_id",
// "dtypes", "num_cols", "num_rows", "time_parsing_s"}} (Hub docs
// /docs/api/2/rest/upload/data/). pygraphistry raises unless "success" is true.
func (s *Server) handleArrow(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		c, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		fail := func(status int, msg string) {
			writeJSON(w, status, map[string]any{"success": false, "message": msg})
		}
		id := r.PathValue("dataset_id")
		s.mu.Lock()
		d, found := s.datasets[id]
		var owner string
		var enc map[string]any
		if found {
			owner = d.Owner
			enc = d.EdgeEncodings
			if kind == "nodes" {
				enc = d.NodeEncodings
			}
		}
		s.mu.Unlock()
		if !found || owner != c.Username {
			fail(http.StatusNotFound, "Dataset "+id+" not found")
			return
		}
		body, _ := io.ReadAll(r.Body)
		t, err := DecodeArrowFile(body)
		if err != nil {
			fail(http.StatusBadRequest, "Could not parse "+kind+" as an Arrow IPC file: "+err.Error())
			return
		}
		t.ContentType = r.Header.Get("Content-Type")
		if msg := checkBoundColumns(enc, kind, t.ColumnNames()); msg != "" {
			fail(http.StatusBadRequest, msg)
			return
		}
		dtypes := map[string]string{}
		for _, col := range t.Columns {
			dtypes[col.Name] = col.Type
		}
		s.mu.Lock()
		if kind == "nodes" {
			d.Nodes = t
		} else {
			d.Edges = t
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"success": true,
			"message": "Dataset " + kind + " created",
			"data": map[string]any{
				"dataset_id":     id,
				"dtypes":         dtypes,
				"num_cols":       len(t.Columns),
				"num_rows":       len(t.Rows),
				"time_parsing_s": time.Since(start).Seconds(),
			},
		})
	}
}

// handleShare follows pygraphistry arrow_uploader.py post_share_link() with
// privacy.py modes, and graphistry-js Privacy.ts: POST /api/v2/share/link/
// with Bearer auth and JSON {"obj_pk","obj_type","mode","notify",
// "invited_users","mode_action","message"}. pygraphistry reports 404 as a
// server without sharing and 403 as an account without sharing rights;
// Options.SharingMissing/SharingForbidden reproduce those.
func (s *Server) handleShare(w http.ResponseWriter, r *http.Request) {
	if s.opts.SharingMissing {
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not found."})
		return
	}
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if s.opts.SharingForbidden {
		writeJSON(w, http.StatusForbidden, map[string]any{"detail": "You do not have permission to perform this action."})
		return
	}
	var in Share
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "ERR", "message": "Invalid JSON body: " + err.Error()})
		return
	}
	switch {
	case in.ObjType != "dataset":
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "ERR", "message": "obj_type must be dataset"})
		return
	case in.Mode != "private" && in.Mode != "organization" && in.Mode != "public":
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "ERR", "message": "mode must be private, organization or public"})
		return
	case in.ModeAction != "10" && in.ModeAction != "20" && in.ModeAction != "30":
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "ERR", "message": "mode_action must be 10, 20 or 30"})
		return
	}
	s.mu.Lock()
	d, found := s.datasets[in.ObjPK]
	if found && d.Owner == c.Username {
		share := in
		d.Share = &share
	}
	s.mu.Unlock()
	if !found || d.Owner != c.Username {
		writeJSON(w, http.StatusNotFound, map[string]any{"status": "ERR", "message": "Dataset " + in.ObjPK + " not found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "OK", "success": true, "data": in})
}

// objectField returns body[key] as an object; ok is false when present but
// not an object. A missing key gives (nil, true).
func objectField(body map[string]any, key string) (map[string]any, bool) {
	v, present := body[key]
	if !present || v == nil {
		return nil, true
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// checkBindings mirrors pygraphistry validate_encodings_generic: "bindings"
// must be an object of strings and contain the required keys.
func checkBindings(enc map[string]any, kind string, required ...string) string {
	raw, present := enc["bindings"]
	if !present {
		return fmt.Sprintf("Field %s_encodings.bindings is required", kind)
	}
	b, ok := raw.(map[string]any)
	if !ok {
		return fmt.Sprintf("Field %s_encodings.bindings must be an object", kind)
	}
	var missing []string
	for _, k := range required {
		if v, _ := b[k].(string); v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("Missing required bindings in %s_encodings.bindings: %v", kind, missing)
	}
	return ""
}

// checkBoundColumns verifies that every column named in bindings exists in the
// uploaded table (the server cannot render a binding to a missing column).
func checkBoundColumns(enc map[string]any, kind string, cols []string) string {
	b, _ := enc["bindings"].(map[string]any)
	var missing []string
	for k, v := range b {
		name, _ := v.(string)
		if name != "" && !contains(cols, name) {
			missing = append(missing, k+"="+name)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	sort.Strings(missing)
	return fmt.Sprintf("Bound columns missing from the %s table: %v (columns: %v)", kind, missing, cols)
}
