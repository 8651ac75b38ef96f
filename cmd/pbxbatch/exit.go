package main

import (
	"context"
	"errors"
)

// Exit codes, one place for all commands (see the root command's help).
const (
	exitOK        = 0
	exitError     = 1
	exitChanges   = 2 // plan: changes pending; diff: differences
	exitPartial   = 3 // some rows failed or were blocked; report written
	exitCancelled = 130
)

// exitErr ends a command with a specific code. When silent, the command has
// already told the user everything and main prints nothing more.
type exitErr struct {
	code   int
	err    error
	silent bool
}

func (e *exitErr) Error() string {
	if e.err == nil {
		return "exit status"
	}
	return e.err.Error()
}

func (e *exitErr) Unwrap() error { return e.err }

// withCode returns an error that makes main exit with code, printing nothing
// more.
func withCode(code int) error { return &exitErr{code: code, silent: true} }

func exitCode(err error) int {
	var e *exitErr
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &e):
		return e.code
	case errors.Is(err, context.Canceled):
		return exitCancelled
	}
	return exitError
}

func isSilent(err error) bool {
	var e *exitErr
	return errors.As(err, &e) && e.silent
}
