package imagediff

import (
	"context"
	"fmt"
	"reflect"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Structs walked field by field; any other value is compared whole, as
// JSON, so a field is reported once with both of its values.
var walked = map[reflect.Type]bool{
	reflect.TypeOf(v1.Manifest{}):   true,
	reflect.TypeOf(v1.Descriptor{}): true,
	reflect.TypeOf(v1.ConfigFile{}): true,
	reflect.TypeOf(v1.Config{}):     true,
	reflect.TypeOf(v1.RootFS{}):     true,
}

// Lists compared entry by entry, so one changed history entry or layer
// is named by its index.
var indexed = map[string]bool{
	"manifest .Layers":       true,
	"config .History":        true,
	"config .RootFS.DiffIDs": true,
}

// skipped tells whether a struct's field is left out: a descriptor's
// digest and size, and the config's diff_ids, follow from the config and
// layers they name, which are compared on their own.
func skipped(t reflect.Type, field string) bool {
	switch t {
	case reflect.TypeOf(v1.Descriptor{}):
		return field == "Digest" || field == "Size"
	case reflect.TypeOf(v1.RootFS{}):
		return field == "DiffIDs"
	}
	return false
}

func diffManifests(_ context.Context, a, b v1.Image) ([]Difference, error) {
	ma, mb, err := both(a, b, "manifest", v1.Image.Manifest)
	if err != nil {
		return nil, err
	}
	var out []Difference
	walk("manifest", "", reflect.ValueOf(*ma), reflect.ValueOf(*mb), &out)
	return out, nil
}

func diffConfigs(_ context.Context, a, b v1.Image) ([]Difference, error) {
	ca, cb, err := both(a, b, "config", v1.Image.ConfigFile)
	if err != nil {
		return nil, err
	}
	var out []Difference
	walk("config", "", reflect.ValueOf(*ca), reflect.ValueOf(*cb), &out)
	return out, nil
}

// diffRaw explains two images that differ in no field: the same fields
// in other bytes (key order, fields v1's types do not know), in the
// config or else in the manifest (whose digests differ: Compare checked).
func diffRaw(a, b v1.Image, da, db v1.Hash) ([]Difference, error) {
	ca, cb, err := both(a, b, "config digest", v1.Image.ConfigName)
	if err != nil {
		return nil, err
	}
	if ca != cb {
		return []Difference{{Scope: "config", Path: "(raw JSON)", A: ca.String(), B: cb.String()}}, nil
	}
	return []Difference{{Scope: "manifest", Path: "(raw JSON)", A: da.String(), B: db.String()}}, nil
}

// walk compares a and b at path within scope, adding what differs to out.
func walk(scope, path string, a, b reflect.Value, out *[]Difference) {
	key := scope + " " + path
	switch {
	case a.Kind() == reflect.Struct && walked[a.Type()]:
		for i := 0; i < a.NumField(); i++ {
			name := a.Type().Field(i).Name
			if skipped(a.Type(), name) {
				continue
			}
			walk(scope, path+"."+name, a.Field(i), b.Field(i), out)
		}
	case a.Kind() == reflect.Slice && indexed[key]:
		for i := 0; i < max(a.Len(), b.Len()); i++ {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case (i >= a.Len() || i >= b.Len()) && key == "manifest .Layers":
			case i >= a.Len():
				*out = append(*out, Difference{Scope: scope, Path: p, A: "(none)", B: jsonString(b.Index(i).Interface())})
			case i >= b.Len():
				*out = append(*out, Difference{Scope: scope, Path: p, A: jsonString(a.Index(i).Interface()), B: "(none)"})
			default:
				walk(scope, p, a.Index(i), b.Index(i), out)
			}
		}
	default:
		ja, jb := jsonString(a.Interface()), jsonString(b.Interface())
		if ja != jb {
			*out = append(*out, Difference{Scope: scope, Path: path, A: ja, B: jb})
		}
	}
}
