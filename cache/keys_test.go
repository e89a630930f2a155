package cache

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestIndexRoundTrip(t *testing.T) {
	ix, err := OpenIndex(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := "sha256:" + fmt.Sprintf("%064x", 1)
	if _, ok := ix.Get(key); ok {
		t.Fatal("empty index has a hit")
	}
	want := Result{Layer: LayerInfo{Digest: hashN(9), DiffID: hashN(2), Size: 3}, Inputs: map[string]string{"a": "b"}}
	if err := ix.Put(key, want); err != nil {
		t.Fatal(err)
	}
	got, ok := ix.Get(key)
	if !ok || got.Layer.DiffID != want.Layer.DiffID || got.Inputs["a"] != "b" {
		t.Fatalf("Get = %+v, %v", got, ok)
	}
	n := 0
	ix.Walk(func(k string, r Result) error { n++; return nil })
	if n != 1 {
		t.Errorf("Walk saw %d keys", n)
	}
	if err := ix.Delete(key); err != nil {
		t.Fatal(err)
	}
	if _, ok := ix.Get(key); ok {
		t.Error("deleted key still hits")
	}
}

func TestIndexRejectsBadKeysAndDamagedRecords(t *testing.T) {
	dir := t.TempDir()
	ix, _ := OpenIndex(dir)
	for _, k := range []string{"", "sha256:../../etc", "md5:abc", "sha256:" + fmt.Sprintf("%063x", 1) + "/"} {
		if err := ix.Put(k, Result{}); err == nil {
			t.Errorf("Put(%q) accepted", k)
		}
	}
	key := "sha256:" + fmt.Sprintf("%064x", 7)
	os.WriteFile(filepath.Join(dir, fmt.Sprintf("%064x", 7)+".json"), []byte("{half"), 0o600)
	if _, ok := ix.Get(key); ok {
		t.Error("damaged record is a hit")
	}
}

func TestIndexConcurrentPuts(t *testing.T) {
	ix, _ := OpenIndex(t.TempDir())
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			key := "sha256:" + fmt.Sprintf("%064x", i%4)
			if err := ix.Put(key, Result{Layer: LayerInfo{Digest: hashN(i % 4), DiffID: hashN(i%4 + 100)}}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	for i := 0; i < 4; i++ {
		r, ok := ix.Get("sha256:" + fmt.Sprintf("%064x", i))
		if !ok || r.Layer.DiffID.Hex != fmt.Sprintf("%064x", i+100) {
			t.Errorf("key %d = %+v %v", i, r, ok)
		}
	}
}

func hashN(n int) v1.Hash { return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", n)} }
