// Package clitest holds the tests of the command line (shared/cli): they run
// it against the real API handler (engine, memory store, fake directory)
// with the demo tenant's users and groups and tokens from the development
// issuer. They live under local/ because they read the demo tenant through
// the Graph simulator's loader and mint tokens with shared/devissuer, and
// shared/ never imports local/. The package has no code of its own.
package clitest
