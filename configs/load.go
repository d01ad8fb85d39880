package configs

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/birdnn/birdnn/internal/override"
)

// loader is the one viper reader behind every run schema: the defaults, then a YAML file or bytes, then
// environment variables (PREFIX_KEY_SUBKEY), then --set key=value overrides. Unknown keys are errors.
type loader struct {
	v     *viper.Viper
	where string          // "config" or "config PATH", the prefix of every error
	known map[string]bool // every key the defaults define
	set   map[string]bool // the keys an override set
}

// newLoader reads def's keys as defaults, then the file at path (when not empty) or yaml, then the
// environment variables under envPrefix.
func newLoader(def any, path string, yaml []byte, envPrefix string) (*loader, error) {
	l := &loader{v: viper.New(), where: "config", known: map[string]bool{}, set: map[string]bool{}}
	if path != "" {
		l.where = "config " + path
	}
	var m map[string]any
	if err := decodeToMap(def, &m); err != nil {
		return nil, fmt.Errorf("config defaults: %w", err)
	}
	setDefaults(l.v, "", m)
	l.v.SetConfigType("yaml")
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		yaml = b
	}
	if yaml != nil {
		if err := l.v.ReadConfig(strings.NewReader(string(yaml))); err != nil {
			return nil, fmt.Errorf("%s: %w", l.where, err)
		}
	}
	l.v.SetEnvPrefix(envPrefix)
	l.v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	l.v.AutomaticEnv()
	for _, k := range l.v.AllKeys() {
		l.known[k] = true
	}
	for k := range m {
		l.known[k] = true // a key whose default is empty (a nil map) is known too
	}
	return l, nil
}

// override applies key=value overrides; a key in forbidden may not be set.
func (l *loader) override(overrides []string, forbidden ...string) error {
	for _, o := range overrides {
		k, val, ok := override.Parse(o)
		if !ok {
			return fmt.Errorf("--set %q: want key=value", o)
		}
		bad := !l.known[k]
		for _, f := range forbidden {
			bad = bad || k == f
		}
		if bad {
			var keys []string
			for k := range l.known {
				if !contains(forbidden, k) {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			return fmt.Errorf("--set %s: unknown key (known: %s)", k, strings.Join(keys, ", "))
		}
		l.v.Set(k, val)
		l.set[k] = true
	}
	return nil
}

// decode unmarshals the merged keys into out, which holds the defaults; a key out does not have is an
// error.
func (l *loader) decode(out any) error {
	if err := l.v.UnmarshalExact(out); err != nil {
		return fmt.Errorf("%s: %w", l.where, err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// setDefaults registers every key of m with v, so that environment variables and UnmarshalExact know them.
func setDefaults(v *viper.Viper, prefix string, m map[string]any) {
	for k, val := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := val.(map[string]any); ok {
			setDefaults(v, key, sub)
			continue
		}
		v.SetDefault(key, val)
	}
}

// decodeToMap turns a config struct into the nested map of its mapstructure keys.
func decodeToMap(in any, out *map[string]any) error {
	var flat map[string]any
	if err := mapstructure.Decode(in, &flat); err != nil {
		return err
	}
	*out = deepMap(flat)
	return nil
}

// deepMap turns nested structs left inside a decoded map into maps as well.
func deepMap(m map[string]any) map[string]any {
	for k, v := range m {
		switch v.(type) {
		case map[string]any:
			m[k] = deepMap(v.(map[string]any))
		case string, bool, int, uint64, float64, []int, []string, nil:
		default:
			var sub map[string]any
			if err := mapstructure.Decode(v, &sub); err == nil {
				m[k] = deepMap(sub)
			}
		}
	}
	return m
}
