package domain

import (
	"errors"
	"fmt"
)

// Code classifies an error; the HTTP layer maps each code to one status.
type Code string

// The error codes, each mapped to one HTTP status in httpapi.
const (
	CodeInvalid      Code = "invalid"
	CodeNotFound     Code = "not_found"
	CodeConflict     Code = "conflict"
	CodeForbidden    Code = "forbidden"
	CodeUnauthorized Code = "unauthorized"
	CodeTransient    Code = "transient"
	CodeInternal     Code = "internal"
	// CodeTooLarge and CodeUnsupportedEncoding are refusals of a request's
	// transport (its size or Content-Encoding), before anything is read.
	CodeTooLarge            Code = "too_large"
	CodeUnsupportedEncoding Code = "unsupported_encoding"
)

// Error is the one error type of jitpim. Message is safe to show to the
// caller; Cause is kept for logs only.
type Error struct {
	Code    Code
	Field   string // the input field at fault, when there is one
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports bad input in one named field.
func Invalid(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	return &Error{Code: CodeInvalid, Field: field, Message: msg}
}

// Wrap attaches a cause to a new Error.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Cause: cause}
}

// ErrorCode returns the code of err, CodeInternal for foreign errors.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsCode reports whether err carries code.
func IsCode(err error, code Code) bool { return err != nil && ErrorCode(err) == code }
