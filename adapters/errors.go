package adapters

import (
	"errors"
	"fmt"
	"time"
)

// Class says what the runner should do about a failed call. Adapters
// classify (they know the platform); the runner decides (it knows the run).
type Class int

const (
	// Permanent: the request is wrong for this target; retrying cannot help.
	Permanent Class = iota
	// Retryable: a transient fault (timeout before sending, connection
	// refused, 500/502/504). Retry with backoff.
	Retryable
	// Throttled: the target asked us to slow down (429, 503). Retry after
	// RetryAfter, and lower the request rate.
	Throttled
	// NotFound: the record does not exist.
	NotFound
	// Conflict: the record already exists (a duplicate natural key).
	Conflict
	// Auth: credentials were refused even after re-authenticating.
	Auth
	// Unknown: the request may or may not have taken effect (timeout or
	// dropped connection after sending). The runner reads the record back by
	// its natural key before anything else.
	Unknown
)

var classNames = [...]string{"permanent", "retryable", "throttled", "not_found", "conflict", "auth", "unknown"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Error is a classified failure from a target. Message is the target's own
// words (never a secret); Status is the HTTP status when there was one.
type Error struct {
	Class      Class
	Status     int
	RetryAfter time.Duration
	Message    string
	Err        error
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Status != 0 {
		return fmt.Sprintf("%s (HTTP %d): %s", e.Class, e.Status, msg)
	}
	return fmt.Sprintf("%s: %s", e.Class, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a classified error.
func Errorf(c Class, format string, args ...any) *Error {
	return &Error{Class: c, Message: fmt.Sprintf(format, args...)}
}

// ClassOf returns the class of err: that of the first *Error in its chain,
// Permanent for any other error, and -1 for nil.
func ClassOf(err error) Class {
	if err == nil {
		return -1
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Permanent
}

// RetryAfterOf returns how long the target asked us to wait, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// IsNotFound reports whether err says the record does not exist.
func IsNotFound(err error) bool { return ClassOf(err) == NotFound }
