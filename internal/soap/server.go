package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
)

// Fault codes an Axis server sends.
const (
	CodeClient        = "soapenv:Client"
	CodeServer        = "soapenv:Server"
	CodeUserException = "soapenv:Server.userException"
)

// Operation is one operation of a server Endpoint, dispatched by the local
// name of its request element.
type Operation struct {
	// New returns a pointer the request element is decoded into; nil when
	// the operation takes no input.
	New func() any
	// Handle performs the operation. It returns the response element's
	// content, nil for a void operation. An error that is a *Fault is sent
	// as is; any other becomes a Server.userException with the error's
	// text as faultstring.
	Handle func(r *http.Request, in any) (any, error)
	// Response is the response element's name ("FindUserResponse"); for a
	// void operation, the empty element Axis answers with
	// ("addUserResponse").
	Response string
}

// Endpoint serves one SOAP service the way Axis 1.4 does: POST dispatches on
// the Body's first element (an empty Body goes to EmptyBody), GET ?wsdl
// serves the WSDL, faults are HTTP 500.
type Endpoint struct {
	Namespace string
	Ops       map[string]Operation
	// EmptyBody is the operation an empty Body is dispatched to (Axis picks
	// the service's first zero-argument operation); "" faults.
	EmptyBody string
	// Host is named in fault details.
	Host string
	// MaxRequest bounds a request envelope; 0 means DefaultMaxResponse.
	MaxRequest int64
	// WSDL returns the service description for GET ?wsdl.
	WSDL func(r *http.Request) []byte
}

// ServeHTTP implements http.Handler.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		if _, ok := r.URL.Query()["wsdl"]; ok && e.WSDL != nil {
			w.Header().Set("Content-Type", "text/xml;charset=utf-8")
			_, _ = w.Write(e.WSDL(r))
			return
		}
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		_, _ = fmt.Fprint(w, "<h1>Service</h1><p>Hi there, this is an AXIS service!</p>")
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	var (
		op   Operation
		in   any
		have bool
	)
	name, err := ReadEnvelope(r.Body, e.MaxRequest, func(d *xml.Decoder, start *xml.StartElement) error {
		op, have = e.Ops[start.Name.Local]
		if !have || op.New == nil {
			return d.Skip()
		}
		in = op.New()
		return d.DecodeElement(in, start)
	})
	switch {
	case err != nil && errors.Is(err, ErrTooLarge):
		e.fault(w, &Fault{Code: CodeServer, String: err.Error()})
		return
	case err != nil:
		e.fault(w, &Fault{Code: CodeClient, String: err.Error()})
		return
	case name.Local == "":
		op, have = e.Ops[e.EmptyBody]
		if !have {
			e.fault(w, &Fault{Code: CodeClient, String: "No operation for an empty Body"})
			return
		}
		if op.New != nil {
			in = op.New()
		}
	case !have:
		e.fault(w, &Fault{Code: CodeClient, String: fmt.Sprintf("No such operation '%s'", name.Local)})
		return
	}

	out, err := op.Handle(r, in)
	if err != nil {
		var f *Fault
		if !errors.As(err, &f) {
			f = &Fault{Code: CodeUserException, String: err.Error()}
		}
		e.fault(w, f)
		return
	}
	var b bytes.Buffer
	if err := EncodeResponse(&b, e.Namespace, op.Response, out); err != nil {
		e.fault(w, &Fault{Code: CodeServer, String: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func (e *Endpoint) fault(w http.ResponseWriter, f *Fault) {
	if f.Detail == "" && e.Host != "" {
		f.Detail = HostDetail(e.Host)
	}
	var b bytes.Buffer
	_ = EncodeFault(&b, f)
	w.Header().Set("Content-Type", "text/xml;charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(b.Bytes())
}

// UserException builds the fault an Axis server sends for a Java exception
// of class with message: faultstring "class: message".
func UserException(class, message string) *Fault {
	return &Fault{Code: CodeUserException, String: class + ": " + message}
}
