// Package archtest checks the package lines of docs/architecture.md: which birdnn packages each package
// may import. It has no code, only its test.
package archtest
