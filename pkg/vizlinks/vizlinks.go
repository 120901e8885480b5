// Package vizlinks lets components of one collector share links to visualizations they made:
// the graphistry exporter publishes the viewer URL of each dataset it uploads, and the plotlyhtml
// exporter links the newest one from its dashboards. The registry is process-wide and keeps only
// the newest links.
package vizlinks // import "github.com/llamatelemetry/otelcol-llt/pkg/vizlinks"

import (
	"sync"
	"time"
)

// Link is one visualization.
type Link struct {
	// Source names the component that made it, e.g. "graphistry".
	Source string
	// Title is what a page shows for it.
	Title string
	// URL opens it; it must not carry a secret.
	URL  string
	Time time.Time
}

// keep is how many links are remembered.
const keep = 32

var (
	mu    sync.Mutex
	links []Link
)

// Publish records a link (the oldest go beyond the newest 32).
func Publish(l Link) {
	if l.Time.IsZero() {
		l.Time = time.Now()
	}
	mu.Lock()
	defer mu.Unlock()
	links = append(links, l)
	if len(links) > keep {
		links = append(links[:0:0], links[len(links)-keep:]...)
	}
}

// Latest returns up to n links, newest first; source, when not empty, selects one component's.
func Latest(source string, n int) []Link {
	mu.Lock()
	defer mu.Unlock()
	var out []Link
	for i := len(links) - 1; i >= 0 && len(out) < n; i-- {
		if source == "" || links[i].Source == source {
			out = append(out, links[i])
		}
	}
	return out
}

// reset forgets every link (tests).
func reset() {
	mu.Lock()
	defer mu.Unlock()
	links = nil
}
