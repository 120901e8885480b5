// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package serverflags

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestTableWellFormed(t *testing.T) {
	seen := make(map[string]int)
	for i, f := range table {
		if len(f.Names) == 0 {
			t.Errorf("entry %d has no name", i)
			continue
		}
		id := f.Names[0]
		for _, n := range f.Names {
			if len(n) < 2 || n[0] != '-' || strings.ContainsAny(n, " =,\x00\n") || n == "--" {
				t.Errorf("%s: bad name %q", id, n)
			}
			if normalize(n) != n {
				t.Errorf("%s: name %q is not in llama-server's spelling (use - not _)", id, n)
			}
			if isFloat(n) {
				t.Errorf("%s: name %q reads as a number", id, n)
			}
			if j, dup := seen[n]; dup {
				t.Errorf("%q is in entries %d and %d", n, j, i)
			}
			seen[n] = i
		}
		if (f.Arity == ArityNone) != (f.Value == ValueNone) {
			t.Errorf("%s: arity %d with value kind %d", id, f.Arity, f.Value)
		}
		switch f.Value {
		case ValueEnum:
			if len(f.Enum) == 0 {
				t.Errorf("%s: ValueEnum without Enum", id)
			}
		case ValueInt, ValueList:
			// Enum optional: extra words, or allowed items.
		default:
			if len(f.Enum) != 0 {
				t.Errorf("%s: Enum set for value kind %d", id, f.Value)
			}
		}
		for _, e := range f.Enum {
			if e == "" || strings.ContainsAny(e, " ,\n") {
				t.Errorf("%s: bad enum word %q", id, e)
			}
		}
		if f.Range != nil {
			if f.Value != ValueInt && f.Value != ValueUint {
				t.Errorf("%s: Range set for value kind %d", id, f.Value)
			}
			if f.Range.Min > f.Range.Max {
				t.Errorf("%s: empty range %+v", id, *f.Range)
			}
		}
		if f.OwnedBy != "" && f.Denied != "" {
			t.Errorf("%s: both owned and denied", id)
		}
		if f.Repeatable && (f.OwnedBy != "" || f.Denied != "" || f.Arity == ArityNone) {
			t.Errorf("%s: Repeatable makes no sense here", id)
		}
		if r := f.Denied; r != "" {
			if first, _ := utf8First(r); unicode.IsUpper(first) || strings.HasSuffix(r, ".") {
				t.Errorf("%s: denied reason should start lower case and end without a period: %q", id, r)
			}
		}
	}
}

func utf8First(s string) (rune, bool) {
	for _, r := range s {
		return r, true
	}
	return 0, false
}

// helpEntry is one option of llama-server --help.
type helpEntry struct {
	names []string
	hint  string
}

// parseHelp reads the entries of llama-server --help: each starts at column
// 0 with its names, separated by commas, then the value hint, if any; the
// description starts at column 40 or on the next line.
func parseHelp(t *testing.T, path string) []helpEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var entries []helpEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "-") || strings.HasPrefix(line, "----- ") {
			continue
		}
		header := line
		if len(line) > 40 && strings.HasSuffix(line[:40], "  ") && line[40] != ' ' {
			header = line[:40]
		}
		var e helpEntry
		rest := strings.TrimSpace(header)
		for rest != "" {
			i := strings.IndexAny(rest, ", ")
			if i < 0 {
				e.names = append(e.names, rest)
				rest = ""
				break
			}
			e.names = append(e.names, rest[:i])
			sep := rest[i]
			rest = strings.TrimLeft(rest[i+1:], " ")
			if sep == ' ' {
				break
			}
		}
		e.hint = strings.TrimSpace(rest)
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return entries
}

// TestTableMatchesHelp checks the table against the --help output of
// llama-server b11669 kept in testdata: the same options, spellings and
// arities. To refresh the table, replace the file and fix what fails.
func TestTableMatchesHelp(t *testing.T) {
	entries := parseHelp(t, "testdata/llama-server-b11669-help.txt")
	if len(entries) < 250 {
		t.Fatalf("parsed only %d entries from the help text", len(entries))
	}
	inHelp := make(map[string]bool)
	for _, e := range entries {
		i, ok := index[e.names[0]]
		if !ok {
			t.Errorf("%v (from --help) is not in the table", e.names)
			continue
		}
		f := table[i]
		if !slices.Equal(f.Names, e.names) {
			t.Errorf("--help spells %v, the table %v", e.names, f.Names)
		}
		want := ArityNone
		switch {
		case e.hint == "START END":
			want = ArityTwo
		case e.hint != "":
			want = ArityOne
		}
		if f.Arity != want {
			t.Errorf("%v: arity %d, but --help shows value hint %q", e.names, f.Arity, e.hint)
		}
		if strings.HasPrefix(e.hint, "{") && f.Value == ValueEnum {
			words := strings.Split(strings.Trim(e.hint, "{}"), ",")
			if !slices.Equal(words, f.Enum) {
				t.Errorf("%v: --help allows %v, the table %v", e.names, words, f.Enum)
			}
		}
		for _, n := range e.names {
			inHelp[n] = true
		}
	}
	// Entries not in --help must be older spellings, all denied.
	for _, f := range table {
		if !inHelp[f.Names[0]] && f.Denied == "" {
			t.Errorf("%v is not in --help of b11669, so it must be denied", f.Names)
		}
	}
	if len(table) != len(entries)+4 {
		t.Errorf("table has %d entries, --help %d (+4 older spellings)", len(table), len(entries))
	}
}
