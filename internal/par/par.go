// Package par runs loops on every core.
package par

import (
	"runtime"
	"sync"
)

// For calls f(i) for i in [0, n) on GOMAXPROCS goroutines (worker w takes i = w, w+workers, ...) and
// returns when all calls have returned. f must be safe to call concurrently.
func For(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(i)
			}
		}(w)
	}
	wg.Wait()
}
