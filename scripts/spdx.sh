#!/usr/bin/env bash
# spdx.sh puts the license header on top of every Go file of the repository:
#
#   // Copyright The otelcol-llt Authors
#   // SPDX-License-Identifier: Apache-2.0
#
# followed by a blank line, so that a package doc comment or a //go:build line below it keeps its
# place (this is the header contrib's files carry, with our name).
#
#   scripts/spdx.sh                 add the header to every Go file that lacks it
#   scripts/spdx.sh --check         list the Go files that lack it; exit 1 when there is one (make lint)
#   scripts/spdx.sh [--check] F...  the same for the files F only
#
# The files are those git knows: tracked, plus untracked ones that .gitignore does not hide.
# Generated files are left alone: a file with a "// Code generated ... DO NOT EDIT." line above its
# package clause (Go's convention: mdatagen's internal/metadata and generated_*_test.go, ocb's
# otelcol-llt/). Their generator writes them whole, without a license header (contrib's
# `make checklicense` also accepts "generated" in place of the header), and adding one by hand
# would make `make check-generated` fail.
set -euo pipefail

readonly header1='// Copyright The otelcol-llt Authors'
readonly header2='// SPDX-License-Identifier: Apache-2.0'

check=false
if [[ ${1:-} == --check ]]; then
  check=true
  shift
fi
case ${1:-} in -*) echo "usage: $0 [--check] [file.go...]" >&2; exit 2 ;; esac

files=()
if [[ $# -gt 0 ]]; then
  files=("$@")
else
  cd "$(dirname "$0")/.."
  while IFS= read -r f; do
    [[ -f $f ]] && files+=("$f") # a tracked file deleted in the work tree is not ours to check
  done < <(git ls-files --cached --others --exclude-standard -- '*.go')
fi

# generated reports whether a "Code generated ... DO NOT EDIT." line comes before the package clause.
generated() {
  awk '/^package[ \t]/ { exit } /^\/\/ Code generated .* DO NOT EDIT\.$/ { found = 1; exit } END { exit !found }' "$1"
}

# has_header reports whether the file's first two lines are the header.
has_header() {
  local l1 l2
  { IFS= read -r l1 || true; IFS= read -r l2 || true; } < "$1"
  [[ $l1 == "$header1" && $l2 == "$header2" ]]
}

missing=()
for f in "${files[@]}"; do
  if generated "$f" || has_header "$f"; then
    continue
  fi
  missing+=("$f")
done

if $check; then
  if [[ ${#missing[@]} -gt 0 ]]; then
    printf '%s\n' "${missing[@]}"
    echo "${#missing[@]} Go file(s) above lack the license header: run scripts/spdx.sh" >&2
    exit 1
  fi
  exit 0
fi

for f in "${missing[@]}"; do
  tmp=$(mktemp)
  { printf '%s\n%s\n\n' "$header1" "$header2"; cat "$f"; } > "$tmp"
  cat "$tmp" > "$f" # rewrite in place: keeps the file's mode
  rm -f "$tmp"
  echo "added the license header to $f"
done
