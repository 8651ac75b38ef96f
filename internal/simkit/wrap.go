package simkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Route names and classifies one request.
type Route struct {
	Name  string // stats key, e.g. "GET /users/{userRecId}"
	Class string // ClassRead, ClassWrite, ClassAuth or the simulator's own
}

// Router is implemented by simulators that name their routes. Without it a
// request's route is "METHOD /path" and GET/HEAD are reads, the rest writes.
type Router interface {
	Route(r *http.Request) Route
}

// Resetter is implemented by simulators whose state /_sim/reset clears.
type Resetter interface {
	Reset()
}

// FaultWriter is implemented by simulators that answer injected faults and
// rate-limit refusals in the platform's error envelope. Headers such as
// Retry-After are already set when it is called.
type FaultWriter interface {
	WriteFault(w http.ResponseWriter, r *http.Request, status int, msg string)
}

// Wrap puts the switches of o around h, counting into s (which may be nil).
// Per request, in this order: the in-flight gauge and route counter, added
// latency, the rate limit, then possibly a fault drawn before or after h ran.
// Requests under /_sim/ skip all of that and are answered only to loopback
// clients.
func Wrap(h http.Handler, o Options, s *Stats) http.Handler {
	if s == nil {
		s = &Stats{}
	}
	k := &kit{next: h, opts: o, stats: s, faults: o.Faults}
	if len(k.faults) == 0 {
		k.faults = DefaultFaults
	}
	if o.RateLimit > 0 {
		burst := int(math.Ceil(o.RateLimit))
		k.limiter = rate.NewLimiter(rate.Limit(o.RateLimit), burst)
	}
	seed := uint64(o.FaultSeed)
	k.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return k
}

type kit struct {
	next    http.Handler
	opts    Options
	stats   *Stats
	faults  []Fault
	limiter *rate.Limiter

	rngMu sync.Mutex
	rng   *rand.Rand
}

func (k *kit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		k.serveControl(w, r)
		return
	}
	route := k.route(r)
	if k.opts.Down != nil && k.opts.Down() {
		k.stats.Request(route.Name)
		k.stats.fault(Fault{Kind: FaultDrop, Class: "outage"})
		drop(w)
		return
	}
	k.stats.enter()
	defer k.stats.leave()
	k.stats.Request(route.Name)

	if err := k.opts.sleep(r.Context(), k.latency()); err != nil {
		return // the client gave up while we were "on the wire"
	}
	if k.limiter != nil && !k.limiter.AllowN(k.opts.Clock(), 1) {
		k.stats.limited()
		k.writeFault(w, r, http.StatusTooManyRequests, "rate limit exceeded")
		return
	}
	f, ok := k.draw(route)
	if !ok {
		k.next.ServeHTTP(w, r)
		return
	}
	k.stats.fault(f)
	if f.After {
		// The change lands; the answer is lost.
		k.next.ServeHTTP(&discard{header: http.Header{}}, r)
	}
	k.inject(w, r, f)
}

func (k *kit) route(r *http.Request) Route {
	if rt, ok := k.next.(Router); ok {
		if route := rt.Route(r); route.Name != "" {
			return route
		}
	}
	class := ClassWrite
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		class = ClassRead
	}
	return Route{Name: r.Method + " " + r.URL.Path, Class: class}
}

func (k *kit) latency() time.Duration {
	d := k.opts.Latency
	if j := k.opts.LatencyJitter; j > 0 {
		k.rngMu.Lock()
		d += time.Duration(k.rng.Int64N(int64(j) + 1))
		k.rngMu.Unlock()
	}
	return d
}

// draw decides whether this request gets a fault, and which.
func (k *kit) draw(route Route) (Fault, bool) {
	if k.opts.FaultRate <= 0 {
		return Fault{}, false
	}
	var eligible []Fault
	for _, f := range k.faults {
		if f.Class == "" || f.Class == route.Class {
			eligible = append(eligible, f)
		}
	}
	if len(eligible) == 0 {
		return Fault{}, false
	}
	k.rngMu.Lock()
	defer k.rngMu.Unlock()
	if k.rng.Float64() >= k.opts.FaultRate {
		return Fault{}, false
	}
	return eligible[k.rng.IntN(len(eligible))], true
}

func (k *kit) inject(w http.ResponseWriter, r *http.Request, f Fault) {
	switch f.Kind {
	case Fault429:
		k.writeFault(w, r, http.StatusTooManyRequests, "injected fault: too many requests")
	case Fault503:
		k.writeFault(w, r, http.StatusServiceUnavailable, "injected fault: service unavailable")
	case Fault500:
		k.writeFault(w, r, http.StatusInternalServerError, "injected fault: internal server error")
	case FaultTimeout:
		if k.opts.sleep(r.Context(), k.opts.timeoutHold()) != nil {
			return // the client timed out, as intended
		}
		k.writeFault(w, r, http.StatusGatewayTimeout, "injected fault: timeout")
	case FaultDrop:
		drop(w)
	}
}

// drop closes the client's connection without an answer. HTTP/1 connections
// are hijacked and closed; elsewhere (HTTP/2) the handler aborts, which
// resets the stream.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST rather than FIN: a peer crash, not a polite close
			}
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (k *kit) writeFault(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		secs := int(math.Ceil(k.opts.retryAfter().Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if fw, ok := k.next.(FaultWriter); ok {
		fw.WriteFault(w, r, status, msg)
		return
	}
	WriteJSON(w, status, map[string]string{"error": msg})
}

// serveControl answers /_sim/stats and /_sim/reset, to loopback clients only:
// a simulator exposed on a LAN must not let others read or wipe it.
func (k *kit) serveControl(w http.ResponseWriter, r *http.Request) {
	if !IsLoopback(r.RemoteAddr) {
		WriteJSON(w, http.StatusForbidden, map[string]string{"error": "/_sim/ answers only to loopback clients"})
		return
	}
	switch r.URL.Path {
	case "/_sim/stats":
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET"})
			return
		}
		WriteJSON(w, http.StatusOK, k.stats.Snapshot())
	case "/_sim/reset":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use POST"})
			return
		}
		if rs, ok := k.next.(Resetter); ok {
			rs.Reset()
		}
		k.stats.Reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no simulator control %s; try /_sim/stats or /_sim/reset", r.URL.Path)})
	}
}

// IsLoopback reports whether a request's RemoteAddr is a loopback address.
func IsLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WriteJSON writes v as a JSON response with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "simulator: encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// discard is the ResponseWriter of a handler whose answer an "after" fault
// throws away.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
