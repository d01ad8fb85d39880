// Package override parses the key=value overrides that birdnn's --set flags give a config loader.
package override

import "strings"

// Parse splits "key=value" into the key, trimmed and lower-cased as viper keys are, and the value,
// trimmed, with a list written as in YAML ("[4, 5]") turned into the comma-separated items the decoder
// takes ("4,5"). ok is false when there is no "=" or no key.
func Parse(o string) (key, value string, ok bool) {
	k, v, found := strings.Cut(o, "=")
	key = strings.ToLower(strings.TrimSpace(k))
	if !found || key == "" {
		return "", "", false
	}
	value = strings.TrimSpace(v)
	if !strings.HasPrefix(value, "[") || !strings.HasSuffix(value, "]") {
		return key, value, true
	}
	items := strings.Split(value[1:len(value)-1], ",")
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}
	return key, strings.Join(items, ","), true
}
