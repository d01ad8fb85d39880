package repair

import (
	"github.com/go-viper/mapstructure/v2"
)

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
