package main

import (
	"context"
	"strings"
	"testing"
)

// TestRefusals: the suite sets each teacher itself, and -resume trains only tanh students; both are
// refused before any file is read or written.
func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name   string
		sets   []string
		acts   string
		resume bool
		want   string
	}{
		{"teacher set", []string{"teacher=x.nnet"}, "tanh,elu", false, "sets each teacher itself"},
		{"resume elu", nil, "tanh,elu", true, "--resume trains the tanh students"},
	} {
		err := makeSuite(context.Background(), "../suite.yaml", dir, "", tt.acts, tt.sets, false, tt.resume)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}
