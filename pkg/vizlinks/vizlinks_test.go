package vizlinks

import (
	"fmt"
	"sync"
	"testing"
)

func TestLatest(t *testing.T) {
	reset()
	for i := range 40 {
		src := "graphistry"
		if i%2 == 1 {
			src = "other"
		}
		Publish(Link{Source: src, Title: fmt.Sprint(i), URL: fmt.Sprintf("https://hub.example/graph/graph.html?dataset=%d", i)})
	}
	got := Latest("graphistry", 2)
	if len(got) != 2 || got[0].Title != "38" || got[1].Title != "36" {
		t.Fatalf("Latest(graphistry, 2) = %+v", got)
	}
	if all := Latest("", 100); len(all) != keep || all[0].Title != "39" {
		t.Fatalf("kept %d links, newest %q", len(all), all[0].Title)
	}
	if got := Latest("nobody", 3); len(got) != 0 {
		t.Fatalf("unknown source: %+v", got)
	}
}

func TestConcurrent(t *testing.T) {
	reset()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				Publish(Link{Source: "s", Title: fmt.Sprint(i, j)})
				_ = Latest("s", 5)
			}
		})
	}
	wg.Wait()
	if n := len(Latest("", 1000)); n != keep {
		t.Fatalf("kept %d", n)
	}
}
