package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestImageWithoutCreated: an image whose config has no created time (the
// test busybox) is listed and its history given with Created 0, as
// dockerd, through the API and lade's own commands alike, which print
// then what docker's CLI prints for 0 (never year 1's "292 years ago");
// inspect leaves Created out.
func TestImageWithoutCreated(t *testing.T) {
	root := newRoot(t)
	epoch := time.Unix(0, 0)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"images", "--format", "{{.CreatedAt}}"}, epoch.String()},
		{[]string{"history", "--format", "{{.CreatedSince}}", "busybox"}, "N/A"},
		{[]string{"history", "-H=false", "--format", "{{.CreatedAt}}", "busybox"}, epoch.Format(time.RFC3339)},
		{[]string{"image", "inspect", "-f", "{{.Created}}", "busybox"}, ""},
	} {
		if r := lade(t, root, "", tc.args...); r.code != 0 || r.stdout != tc.want+"\n" {
			t.Errorf("lade %v: %+v, want %q", tc.args, r, tc.want)
		}
	}
	cl := socketClient(startServe(t, root))
	for _, tc := range []struct{ path, want string }{
		{"/images/json", `[{"Created":0}]`},
		{"/images/busybox/history", `[{"Created":0}]`},
		{"/images/busybox/json", `{}`},
	} {
		resp, err := cl.Get("http://lade" + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var got any
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if g := createdOnly(got); g != tc.want {
			t.Errorf("%s: Created %s, want %s", tc.path, g, tc.want)
		}
	}
}

// createdOnly is v (an object or a list of them) with only its Created.
func createdOnly(v any) string {
	keep := func(o any) map[string]any {
		out := map[string]any{}
		if m, ok := o.(map[string]any); ok {
			if c, ok := m["Created"]; ok {
				out["Created"] = c
			}
		}
		return out
	}
	var x any = keep(v)
	if l, ok := v.([]any); ok {
		var ks []map[string]any
		for _, o := range l {
			ks = append(ks, keep(o))
		}
		x = ks
	}
	b, _ := json.Marshal(x)
	return strings.TrimSpace(string(b))
}
