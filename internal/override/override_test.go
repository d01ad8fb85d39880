package override

import "testing"

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in, key, value string
		ok             bool
	}{
		{"epochs=3", "epochs", "3", true},
		{" Domain.Rounds = 6 ", "domain.rounds", "6", true},
		{"hidden=[96, 96,96 ]", "hidden", "96,96,96", true},
		{"hidden=96,96", "hidden", "96,96", true},
		{"layers=[]", "layers", "", true},
		{"note=a=b", "note", "a=b", true},
		{"epochs", "", "", false},
		{"=3", "", "", false},
	} {
		k, v, ok := Parse(tt.in)
		if k != tt.key || v != tt.value || ok != tt.ok {
			t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q, %v", tt.in, k, v, ok, tt.key, tt.value, tt.ok)
		}
	}
}
