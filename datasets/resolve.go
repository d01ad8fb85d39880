package datasets

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// builtin holds the project's own small data: the demo network and its property (see demo/README.md).
//
//go:embed demo suite
var builtin embed.FS

var (
	extractOnce sync.Once
	extractDir  string
	extractErr  error
)

// Resolve turns a path as configs write it into a file path: "data:REL" is REL inside the data folder
// (Dir), "builtin:REL" is an embedded file (extracted once to a temporary folder), anything else is
// returned as it is.
func Resolve(p string) (string, error) {
	switch {
	case strings.HasPrefix(p, "data:"):
		d, err := Dir()
		if err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		return filepath.Join(d, strings.TrimPrefix(p, "data:")), nil
	case strings.HasPrefix(p, "builtin:"):
		rel := strings.TrimPrefix(p, "builtin:")
		if _, err := fs.Stat(builtin, rel); err != nil {
			return "", fmt.Errorf("%s: no such built-in file", p)
		}
		extractOnce.Do(func() {
			extractDir, extractErr = os.MkdirTemp("", "birdnn-builtin-")
			if extractErr != nil {
				return
			}
			extractErr = fs.WalkDir(builtin, ".", func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				dst := filepath.Join(extractDir, path)
				if d.IsDir() {
					return os.MkdirAll(dst, 0o755)
				}
				b, err := fs.ReadFile(builtin, path)
				if err != nil {
					return err
				}
				return os.WriteFile(dst, b, 0o644)
			})
		})
		if extractErr != nil {
			return "", fmt.Errorf("extract built-in files: %w", extractErr)
		}
		return filepath.Join(extractDir, rel), nil
	}
	return p, nil
}
