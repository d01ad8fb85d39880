package datasets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
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
		extractOnce.Do(func() { extractDir, extractErr = extract(builtin) })
		if extractErr != nil {
			return "", fmt.Errorf("extract built-in files: %w", extractErr)
		}
		return filepath.Join(extractDir, rel), nil
	}
	return p, nil
}

// extract writes the files of fsys to a folder of the system's temporary directory named after a hash
// of their contents, and returns it. A run finds the folder an earlier run made with the same files and
// reuses it, so runs leave one folder per version of the built-in files, not one each. The folder is
// filled under another name and renamed into place, so a reader never sees it half written.
func extract(fsys fs.FS) (string, error) {
	h := sha256.New()
	type file struct {
		path string
		data []byte
	}
	var files []file
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		files = append(files, file{path, b})
		return nil
	})
	if err != nil {
		return "", err
	}
	dir := filepath.Join(os.TempDir(), "birdnn-builtin-"+hex.EncodeToString(h.Sum(nil))[:16])
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "birdnn-builtin-tmp-")
	if err != nil {
		return "", err
	}
	for _, f := range files {
		dst := filepath.Join(tmp, f.path)
		err := os.MkdirAll(filepath.Dir(dst), 0o755)
		if err == nil {
			err = os.WriteFile(dst, f.data, 0o644)
		}
		if err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		// Another run may have put the same files in place first.
		if st, serr := os.Stat(dir); serr == nil && st.IsDir() {
			return dir, nil
		}
		return "", errors.Join(fmt.Errorf("extract to %s", dir), err)
	}
	return dir, nil
}
