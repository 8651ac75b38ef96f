package httpclient

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
)

// hedgeTransport hedges reads: a GET (safe by HTTP's definition, and
// bodiless) whose answer is later than the target usually takes gets a
// second copy, and the first answer wins. A read that met a stalled
// connection then costs a few latencies, not a deadline. Writes are never
// hedged: a second copy of a create is a duplicate. It sits below the
// pacer, so that the wait for the rate never counts as lateness, and the
// second copy waits on the pacer itself: the rate still bounds what the
// target sees.
type hedgeTransport struct {
	next http.RoundTripper
	d    *deadline
	p    adapters.Pacer // nil: unpaced
}

type answer struct {
	copy int
	resp *http.Response
	err  error
}

func (t *hedgeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	after, ok := t.d.hedgeAfter(req.Method)
	if !ok || req.Method != http.MethodGet || (req.Body != nil && req.Body != http.NoBody) || req.Context().Value(patientKey{}) != nil {
		return t.next.RoundTrip(req)
	}
	answers := make(chan answer, 2)
	var cancels []context.CancelFunc
	send := func() {
		ctx, cancel := context.WithCancel(req.Context())
		n := len(cancels)
		cancels = append(cancels, cancel)
		paced := n > 0 && t.p != nil
		go func() {
			if paced {
				if err := t.p.Wait(ctx); err != nil {
					answers <- answer{n, nil, err}
					return
				}
			}
			resp, err := t.next.RoundTrip(req.Clone(ctx))
			answers <- answer{n, resp, err}
		}()
	}
	send()
	timer := time.NewTimer(after)
	defer timer.Stop()
	out := 1
	for {
		select {
		case <-timer.C:
			send()
			out++
		case a := <-answers:
			out--
			if a.err != nil {
				cancels[a.copy]()
				if out > 0 {
					continue // the other copy may still answer
				}
				return nil, a.err
			}
			for i, cancel := range cancels {
				if i != a.copy {
					cancel()
				}
			}
			if out > 0 {
				go discard(answers)
			}
			a.resp.Body = &cancelOnClose{ReadCloser: a.resp.Body, cancel: cancels[a.copy]}
			return a.resp, nil
		}
	}
}

// discard drops the losing copy's answer, once its cancellation ended it.
func discard(answers <-chan answer) {
	if a := <-answers; a.resp != nil {
		a.resp.Body.Close()
	}
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
