package configs

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/viper"
)

// The documented defaults in configs/README.md must parse and equal RepairDefaults().
func TestDocumentedDefaults(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("no yaml block in configs/README.md")
	}
	y := strings.Replace(string(m[1]), "network: \"\"", "network: x", 1)
	y = strings.Replace(y, "property: \"\"", "property: y", 1)
	cfg, err := LoadRepair("", []byte(y), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Every key must be documented, not just parse.
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(strings.NewReader(y)); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, k := range v.AllKeys() {
		documented[k] = true
	}
	var dm map[string]any
	if err := decodeToMap(RepairDefaults(), &dm); err != nil {
		t.Fatal(err)
	}
	dv := viper.New()
	setDefaults(dv, "", dm)
	for _, k := range dv.AllKeys() {
		if !documented[k] {
			t.Errorf("key %s is not documented in configs/README.md", k)
		}
	}
	want := RepairDefaults()
	want.Network, want.Property = "x", "y"
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("documented defaults differ from RepairDefaults():\n%+v\n%+v", *cfg, want)
	}
}
