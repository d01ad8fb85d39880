package repair

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// The documented defaults in configs/README.md must parse and equal Defaults().
func TestDocumentedDefaults(t *testing.T) {
	b, err := os.ReadFile("../configs/README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("no yaml block in configs/README.md")
	}
	y := strings.Replace(string(m[1]), "network: \"\"", "network: x", 1)
	y = strings.Replace(y, "property: \"\"", "property: y", 1)
	cfg, err := LoadConfig("", []byte(y), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Network, want.Property = "x", "y"
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("documented defaults differ from Defaults():\n%+v\n%+v", *cfg, want)
	}
}
