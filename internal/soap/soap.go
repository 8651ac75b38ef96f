// Package soap is the SOAP 1.1 document/literal plumbing that SOAP platforms
// (sipXconfig) need, on encoding/xml alone: request and response envelopes
// whose child elements are unqualified, faults as typed errors, tolerant
// decoding of what Axis-era servers really send, response size limits, an
// HTTP client that authenticates pre-emptively, and the server-side helpers a
// simulator dispatches with.
//
// No SOAP library is used: none is maintained, and the subset needed here
// (one part per message, no encoding rules, no attachments) is small enough
// to own and test against golden XML.
package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Namespaces of the SOAP 1.1 envelope and of XML Schema instance attributes.
const (
	EnvelopeNS = "http://schemas.xmlsoap.org/soap/envelope/"
	XSINS      = "http://www.w3.org/2001/XMLSchema-instance"
	XSDNS      = "http://www.w3.org/2001/XMLSchema"
	// envelope12NS is SOAP 1.2's; recognised only to say clearly that it is
	// not supported.
	envelope12NS = "http://www.w3.org/2003/05/soap-envelope"
)

// DefaultMaxResponse bounds a response envelope: a findUser that lists every
// user of a large system is a few MB; anything beyond this is a broken or
// hostile server.
const DefaultMaxResponse = 64 << 20

// ErrTooLarge is returned (wrapped, with the limit) when a message exceeds
// its size limit.
var ErrTooLarge = errors.New("SOAP message too large")

// ErrEmptyBody is returned when an operation that returns data got an empty
// Body.
var ErrEmptyBody = errors.New("SOAP response Body is empty")

// Fault is a SOAP 1.1 Fault. Axis reports a server-side Java exception as
// Code "soapenv:Server.userException" and String "<exception class>:
// <message>".
type Fault struct {
	Code   string // faultcode as sent, prefix included ("soapenv:Server.userException")
	String string // faultstring
	Actor  string // faultactor, rarely set
	Detail string // the inner XML of detail, for diagnostics
	// HTTPStatus is the status the fault arrived with (500 for Axis).
	HTTPStatus int
}

func (f *Fault) Error() string {
	return fmt.Sprintf("SOAP fault %s: %s", f.Code, f.String)
}

// Exception splits an Axis faultstring into the Java exception class and its
// message ("java.lang.RuntimeException", "Cannot find user …"). When the
// string has no class prefix, class is empty and msg is the whole string.
func (f *Fault) Exception() (class, msg string) {
	s := f.String
	i := strings.Index(s, ": ")
	if i <= 0 || strings.ContainsAny(s[:i], " \t") || !strings.Contains(s[:i], ".") {
		return "", s
	}
	return s[:i], s[i+2:]
}

// IsClient reports whether the fault blames the request (faultcode Client,
// for example "No such operation"), whatever the prefix bound to the
// envelope namespace.
func (f *Fault) IsClient() bool { return faultClass(f.Code) == "Client" }

// IsServer reports whether the fault blames the server (Server or
// Server.userException).
func (f *Fault) IsServer() bool { return faultClass(f.Code) == "Server" }

func faultClass(code string) string {
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[i+1:]
	}
	if i := strings.IndexByte(code, '.'); i >= 0 {
		code = code[:i]
	}
	return code
}

// Nil is a nillable string element: the zero value is an empty string, Nil
// true encodes as xsi:nil="true" (how Axis says "set to null"). Decoding
// sets Nil when the element carries xsi:nil="true".
type Nil struct {
	Value string
	Nil   bool
}

// MarshalXML writes the value, or an empty element with xsi:nil="true". The
// xsi prefix is declared on every envelope this package writes.
func (n Nil) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if n.Nil {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "xsi:nil"}, Value: "true"})
		if err := e.EncodeToken(start); err != nil {
			return err
		}
		return e.EncodeToken(start.End())
	}
	return e.EncodeElement(n.Value, start)
}

// UnmarshalXML reads the value and notices xsi:nil.
func (n *Nil) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	n.Nil = isNil(start)
	return d.DecodeElement(&n.Value, &start)
}

func isNil(start xml.StartElement) bool {
	for _, a := range start.Attr {
		if a.Name.Local == "nil" && (a.Name.Space == XSINS || a.Name.Space == "xsi") {
			v := strings.TrimSpace(a.Value)
			return v == "true" || v == "1"
		}
	}
	return false
}

// Array decodes a response array whatever its items are called: the seed
// WSDL says "item", the upstream server writes "user", "permission", …, and
// a hand-written server may write anything. On encoding, items are written
// with ItemName ("item" when empty).
type Array[T any] struct {
	Items []T
	// ItemName is the element name used when encoding.
	ItemName string
}

// UnmarshalXML decodes every child element as one item; xsi:nil on the
// wrapper means an empty array.
func (a *Array[T]) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var item T
			if err := d.DecodeElement(&item, &t); err != nil {
				return err
			}
			if a.ItemName == "" {
				a.ItemName = t.Name.Local
			}
			a.Items = append(a.Items, item)
		case xml.EndElement:
			return nil
		}
	}
}

// MarshalXML writes the wrapper and one element per item.
func (a Array[T]) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	name := a.ItemName
	if name == "" {
		name = "item"
	}
	for i := range a.Items {
		if err := e.EncodeElement(a.Items[i], xml.StartElement{Name: xml.Name{Local: name}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// Envelope writing. The body root element is qualified with a prefix bound
// on the Envelope (prefix:Op, the form of the vendor's own examples); its
// children carry no namespace, as the schemas (no elementFormDefault) want.

const envelopeOpen = `<soapenv:Envelope xmlns:soapenv="` + EnvelopeNS + `" xmlns:xsd="` + XSDNS + `" xmlns:xsi="` + XSINS + `"`

// EncodeRequest writes a request envelope whose Body holds element op in
// namespace ns (bound to prefix), with body's fields as unqualified
// children. A nil body writes an empty Body, which is how zero-argument
// operations (getCallGroups) are called.
func EncodeRequest(w io.Writer, ns, prefix, op string, body any) error {
	var b bytes.Buffer
	b.WriteString(envelopeOpen)
	fmt.Fprintf(&b, ` xmlns:%s="%s">`, prefix, escapeAttr(ns))
	b.WriteString(`<soapenv:Header/>`)
	if body == nil {
		b.WriteString(`<soapenv:Body/></soapenv:Envelope>`)
		_, err := w.Write(b.Bytes())
		return err
	}
	b.WriteString(`<soapenv:Body>`)
	enc := xml.NewEncoder(&b)
	// A Local name with a colon and no Space is written verbatim: the prefix
	// declared above qualifies the root and nothing else.
	if err := enc.EncodeElement(body, xml.StartElement{Name: xml.Name{Local: prefix + ":" + op}}); err != nil {
		return fmt.Errorf("encode %s: %w", op, err)
	}
	if err := enc.Close(); err != nil {
		return err
	}
	b.WriteString(`</soapenv:Body></soapenv:Envelope>`)
	_, err := w.Write(b.Bytes())
	return err
}

// EncodeResponse writes a response envelope. With body nil it writes the
// empty element Axis answers void operations with (<addUserResponse/>, no
// namespace); otherwise element name in namespace ns with body's fields as
// unqualified children.
func EncodeResponse(w io.Writer, ns, name string, body any) error {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString(envelopeOpen + `><soapenv:Body>`)
	if body == nil {
		fmt.Fprintf(&b, `<%s xmlns=""/>`, name)
	} else {
		enc := xml.NewEncoder(&b)
		start := xml.StartElement{
			Name: xml.Name{Local: "ns1:" + name},
			Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns:ns1"}, Value: ns}},
		}
		if err := enc.EncodeElement(body, start); err != nil {
			return fmt.Errorf("encode %s: %w", name, err)
		}
		if err := enc.Close(); err != nil {
			return err
		}
	}
	b.WriteString(`</soapenv:Body></soapenv:Envelope>`)
	_, err := w.Write(b.Bytes())
	return err
}

// EncodeFault writes a fault envelope the way Axis does: detail names the
// host that raised it.
func EncodeFault(w io.Writer, f *Fault) error {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString(envelopeOpen + `><soapenv:Body><soapenv:Fault>`)
	writeText(&b, "faultcode", f.Code)
	writeText(&b, "faultstring", f.String)
	if f.Actor != "" {
		writeText(&b, "faultactor", f.Actor)
	}
	if f.Detail != "" {
		b.WriteString("<detail>" + f.Detail + "</detail>")
	}
	b.WriteString(`</soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	_, err := w.Write(b.Bytes())
	return err
}

// HostDetail is the detail Axis attaches to every fault.
func HostDetail(host string) string {
	var b bytes.Buffer
	b.WriteString(`<ns1:hostname xmlns:ns1="http://xml.apache.org/axis/">`)
	_ = xml.EscapeText(&b, []byte(host))
	b.WriteString(`</ns1:hostname>`)
	return b.String()
}

func writeText(b *bytes.Buffer, name, text string) {
	b.WriteString("<" + name + ">")
	_ = xml.EscapeText(b, []byte(text))
	b.WriteString("</" + name + ">")
}

func escapeAttr(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// limitReader fails with ErrTooLarge once more than max bytes were read, so
// that a decoder stops with a clear error instead of a truncated-XML one.
type limitReader struct {
	r      io.Reader
	n, max int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n > l.max {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, l.max)
	}
	if rest := l.max - l.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, l.max)
	}
	return n, err
}

// BodyFunc is given the decoder positioned on the Body's first element and
// must consume that element (DecodeElement or Skip). The decoder has seen the
// Envelope, so prefixes declared there (xsi) resolve.
type BodyFunc func(d *xml.Decoder, start *xml.StartElement) error

// ReadEnvelope parses a SOAP 1.1 envelope of at most max bytes (0 means
// DefaultMaxResponse) and hands its Body's first element to body. It returns
// that element's name, the zero Name for an empty Body, and a *Fault as the
// error when the Body holds a Fault. It tolerates a missing Header, any
// prefixes, comments and whitespace; it refuses SOAP 1.2 and non-envelopes.
func ReadEnvelope(r io.Reader, max int64, body BodyFunc) (xml.Name, error) {
	if max <= 0 {
		max = DefaultMaxResponse
	}
	d := xml.NewDecoder(&limitReader{r: r, max: max})
	depth := 0 // 0 outside Envelope, 1 in Envelope, 2 in Body
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if depth == 0 {
				return xml.Name{}, errors.New("not a SOAP envelope: empty or no Envelope element")
			}
			return xml.Name{}, errors.New("malformed SOAP envelope: truncated")
		}
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return xml.Name{}, err
			}
			return xml.Name{}, fmt.Errorf("malformed SOAP envelope: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch depth {
			case 0:
				if t.Name.Local != "Envelope" {
					return xml.Name{}, fmt.Errorf("not a SOAP envelope: root element is <%s>", t.Name.Local)
				}
				if t.Name.Space == envelope12NS {
					return xml.Name{}, errors.New("SOAP 1.2 envelope: only SOAP 1.1 is supported")
				}
				if t.Name.Space != EnvelopeNS {
					return xml.Name{}, fmt.Errorf("not a SOAP 1.1 envelope: namespace %q", t.Name.Space)
				}
				depth = 1
			case 1:
				if t.Name.Space == EnvelopeNS && t.Name.Local == "Body" {
					depth = 2
					continue
				}
				if err := d.Skip(); err != nil { // Header, or anything else
					return xml.Name{}, fmt.Errorf("malformed SOAP envelope: %w", err)
				}
			case 2:
				if t.Name.Space == EnvelopeNS && t.Name.Local == "Fault" {
					return t.Name, decodeFault(d, &t)
				}
				if err := body(d, &t); err != nil {
					if errors.Is(err, ErrTooLarge) {
						return t.Name, err
					}
					return t.Name, fmt.Errorf("decode <%s>: %w", t.Name.Local, err)
				}
				return t.Name, nil
			}
		case xml.EndElement:
			switch depth {
			case 2: // </Body> with no element in it
				return xml.Name{}, nil
			case 1:
				return xml.Name{}, errors.New("malformed SOAP envelope: no Body")
			}
		}
	}
}

func decodeFault(d *xml.Decoder, start *xml.StartElement) error {
	var wire struct {
		Code   string `xml:"faultcode"`
		String string `xml:"faultstring"`
		Actor  string `xml:"faultactor"`
		Detail struct {
			Inner string `xml:",innerxml"`
		} `xml:"detail"`
	}
	if err := d.DecodeElement(&wire, start); err != nil {
		return fmt.Errorf("malformed SOAP fault: %w", err)
	}
	return &Fault{
		Code:   strings.TrimSpace(wire.Code),
		String: strings.TrimSpace(wire.String),
		Actor:  strings.TrimSpace(wire.Actor),
		Detail: strings.TrimSpace(wire.Detail.Inner),
	}
}
