// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Command chlogvalidate checks the changelog entries in .chloggen/ (`make lint` runs it): every
// YAML file but TEMPLATE.yaml must have a change_type of breaking, deprecation, new_component,
// enhancement or bug_fix, a non-empty component and note, and issues as a non-empty list of issue
// numbers; subtext is optional, and any other key is an error (a misspelt key would otherwise be
// lost). It does what `chloggen validate` of opentelemetry-go-build-tools does for contrib, without
// another module to fetch.
//
//	go run ./chlogvalidate [dir]   (dir defaults to .chloggen)
//
// It prints one line per problem, "file: message", and exits 1 when there is any.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// changeTypes are the allowed values of change_type, in the order the template lists them.
var changeTypes = []string{"breaking", "deprecation", "new_component", "enhancement", "bug_fix"}

// skipped are the files of the folder that are not entries.
var skipped = []string{"TEMPLATE.yaml", "config.yaml"}

// entry is one changelog file.
type entry struct {
	ChangeType string `yaml:"change_type"`
	Component  string `yaml:"component"`
	Note       string `yaml:"note"`
	Issues     []int  `yaml:"issues"`
	Subtext    string `yaml:"subtext"`
}

func main() {
	dir := ".chloggen"
	if len(os.Args) > 2 {
		fmt.Fprintln(os.Stderr, "usage: chlogvalidate [dir]")
		os.Exit(2)
	}
	if len(os.Args) == 2 {
		dir = os.Args[1]
	}
	problems, err := validateDir(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

// validateDir validates every entry in dir and returns its problems, each prefixed with the file's
// path. The error is for a folder that cannot be read.
func validateDir(dir string) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var problems []string
	for _, name := range names {
		if slices.Contains(skipped, filepath.Base(name)) {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		for _, err := range validate(data) {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no changelog entries (*.yaml) found", dir)
	}
	return problems, nil
}

// validate returns the problems of one entry; none when it is valid.
func validate(data []byte) []error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var e entry
	if err := dec.Decode(&e); err != nil {
		if errors.Is(err, io.EOF) {
			return []error{errors.New("the file is empty")}
		}
		var typeErr *yaml.TypeError
		if errors.As(err, &typeErr) {
			return []error{fmt.Errorf("not a changelog entry: %w", err)}
		}
		return []error{fmt.Errorf("not valid YAML (a value that contains \": \" needs quotes): %w", err)}
	}
	var errs []error
	if !slices.Contains(changeTypes, e.ChangeType) {
		errs = append(errs, fmt.Errorf("`change_type` must be one of %s, got %q",
			strings.Join(changeTypes, ", "), e.ChangeType))
	}
	if strings.TrimSpace(e.Component) == "" {
		errs = append(errs, errors.New("`component` must not be empty"))
	}
	if strings.TrimSpace(e.Note) == "" {
		errs = append(errs, errors.New("`note` must not be empty"))
	}
	if len(e.Issues) == 0 {
		errs = append(errs, errors.New("`issues` must list at least one issue number, e.g. [18]"))
	}
	for _, n := range e.Issues {
		if n <= 0 {
			errs = append(errs, fmt.Errorf("`issues` must hold issue numbers, got %d", n))
		}
	}
	return errs
}
