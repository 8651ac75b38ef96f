package mxone

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// pagedServer serves n locations in one of the readings the document allows.
func pagedServer(t *testing.T, n int, style string) (*Conn, *int) {
	t.Helper()
	requests := 0
	_, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		requests++
		size, _ := strconv.Atoi(r.URL.Query().Get("pageSize"))
		if style == "capped" {
			size = 50 // the server ignores the asked size
		}
		p, _ := strconv.Atoi(r.URL.Query().Get("pageno"))
		first := 0 // number of the first page
		switch style {
		case "one-based-400":
			if p == 0 {
				w.WriteHeader(400)
				fmt.Fprint(w, `{"errorMsg":"pageno must be at least 1"}`)
				return
			}
			first = 1
		case "one-based-clamp", "one-based-silent":
			first = 1
			p = max(p, 1)
		case "one-based-echo": // 0 and 1 are both the first page; the echo is what was asked
			first = 1
		}
		asked := p
		if style == "one-based-echo" {
			p = max(p, 1)
		}
		lo := min((p-first)*size, n)
		hi := min(lo+size, n)
		items := []map[string]any{}
		for i := lo; i < hi; i++ {
			items = append(items, map[string]any{"locationId": i + 1, "locationName": fmt.Sprintf("L%03d", i)})
		}
		var body any
		switch style {
		case "bare-array":
			body = items
		case "bare-object":
			body = map[string]any{"items": items, "count": n, "pageNo": p}
		case "one-based-silent": // no echo, no count: only the content tells
			body = []any{map[string]any{"items": items}}
		case "one-based-echo":
			body = []any{map[string]any{"items": items, "count": n, "pageNo": asked, "pageSize": size}}
		case "page-count": // count read as this page's length, not the total
			body = []any{map[string]any{"items": items, "count": len(items), "pageNo": p, "pageSize": size}}
		case "ends-early": // announces n, serves nothing from item 400 on
			if lo >= 400 {
				items = items[:0]
			}
			body = []any{map[string]any{"items": items, "count": n, "pageNo": p, "pageSize": size}}
		default:
			page := map[string]any{"items": items, "count": n, "pageNo": p, "pageSize": size}
			if style == "capped" {
				delete(page, "count")
			}
			body = []any{page}
		}
		json.NewEncoder(w).Encode(body)
	})
	c, err := New().Open(context.Background(), target(srv, "right-password"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*Conn), &requests
}

func TestPagingReadings(t *testing.T) {
	for _, style := range []string{"zero-based", "one-based-400", "one-based-clamp", "one-based-silent", "one-based-echo", "page-count", "bare-array", "bare-object", "capped"} {
		for _, n := range []int{0, 1, 199, 200, 201, 450} {
			t.Run(fmt.Sprintf("%s/%d", style, n), func(t *testing.T) {
				if style == "bare-array" && n > 200 {
					t.Skip("a bare array is the whole list")
				}
				c, _ := pagedServer(t, n, style)
				for round := range 2 { // the second listing uses the detected base
					seen := map[string]int{}
					err := c.List(context.Background(), "location", func(r schemas.Record) error {
						seen[r.String("locationName")]++
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					if len(seen) != n {
						t.Fatalf("round %d: listed %d distinct locations, want %d", round, len(seen), n)
					}
					for name, k := range seen {
						if k != 1 {
							t.Fatalf("round %d: %s listed %d times", round, name, k)
						}
					}
				}
			})
		}
	}
}

// A server that stops serving before the count it announced gives an error,
// never a short list (an audit export would say records were removed).
func TestPagingShortListingIsAnError(t *testing.T) {
	c, _ := pagedServer(t, 450, "ends-early")
	listed := 0
	err := c.List(context.Background(), "location", func(schemas.Record) error { listed++; return nil })
	if err == nil || !strings.Contains(err.Error(), "ended after 400 of the 450") {
		t.Fatalf("List of a listing cut at 400 of 450 returned %v after %d records; want a short-list error", err, listed)
	}
}

func TestPagingStopsEarlyOnCallback(t *testing.T) {
	c, requests := pagedServer(t, 450, "zero-based")
	stop := fmt.Errorf("enough")
	n := 0
	err := c.List(context.Background(), "location", func(schemas.Record) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || *requests != 1 {
		t.Errorf("List returned %v after %d requests; want the callback's error after 1", err, *requests)
	}
}
