package mxone

import (
	"errors"
	"fmt"

	"github.com/pbxbatch/pbxbatch/adapters"
)

func asError(err error, target **adapters.Error) bool { return errors.As(err, target) }

// annotate prefixes a classified error with what was being done ("create
// extension 1001 / MX1"), keeping its class, status and Retry-After, so the
// runner's decision and the operator's message both survive.
func annotate(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	var e *adapters.Error
	if errors.As(err, &e) {
		return &adapters.Error{Class: e.Class, Status: e.Status, RetryAfter: e.RetryAfter, Message: what + ": " + e.Message, Err: e.Err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// notFound is the error of a read by key that found nothing.
func notFound(kind, key string) error {
	return adapters.Errorf(adapters.NotFound, "%s %q does not exist on the target", kind, key)
}

// missingRef is the error of a reference to a record the target lacks. It is
// Permanent: the runner orders dependencies first, so retrying cannot help.
func missingRef(kind, name, usedBy string) error {
	return adapters.Errorf(adapters.Permanent, "%s %q (referenced by %s) does not exist on the target: create it first or fix the name", kind, name, usedBy)
}

// ambiguous is the error of a name that more than one record carries.
func ambiguous(kind, name string, n int) error {
	return adapters.Errorf(adapters.Permanent, "%d %ss on the target are named %q; pbxbatch identifies a %s by its name, so rename all but one in Provisioning Manager", n, kind, name, kind)
}

// createdButUnread turns a failed read-back after a successful create into
// an Unknown error: the record exists (the create answered 2xx) but we could
// not learn its id. The runner reads back by key before doing anything else,
// so nothing is created twice.
func createdButUnread(err error) error {
	class := adapters.Unknown
	if adapters.ClassOf(err) == adapters.Permanent {
		class = adapters.Permanent // e.g. an ambiguous name: reading back again cannot help
	}
	return &adapters.Error{Class: class, Message: "created, but reading it back failed: " + err.Error(), Err: err}
}
