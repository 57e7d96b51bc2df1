// SPDX-License-Identifier: GPL-2.0-or-later

// Command varlink-go-client calls a running memtided through the upstream
// Go varlink library (github.com/varlink/go), a client that shares no code
// with memtide: what it can do, any varlink client can. It introspects the
// service, parses both interface descriptions with the library's IDL parser,
// calls the methods and checks every reply against the types the description
// declares, strictly: a member not declared, a declared one missing, null
// where the type is not optional, or a value of the wrong type is a failure.
//
//	varlink-go-client -address unix:PATH -idl FILE -guest NAME
//	varlink-go-client -address unix:PATH -unprivileged
//
// The second form runs as a user neither root nor in the memtide group:
// reading works, changing is PermissionDenied. Exit 0 when everything held,
// 1 with the reasons on stderr otherwise.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/varlink/go/varlink"
	"github.com/varlink/go/varlink/idl"
)

const manager = "io.memtide.Manager"

var failures []string

func fail(format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	failures = append(failures, msg)
	fmt.Fprintln(os.Stderr, "FAIL: "+msg)
}

func logf(format string, args ...interface{}) {
	fmt.Printf(format+"\n", args...)
}

// The description of one interface, parsed, with its named types.
type iface struct {
	idl   *idl.IDL
	types map[string]*idl.Type
}

var interfaceLine = regexp.MustCompile(`(?m)^interface ([A-Za-z0-9.-]+)$`)

// parse parses a description with the library's parser. The library before
// 0.4.1 (Debian 12 has 0.4.0) takes interface names in lower case only, as
// the varlink spec did until uppercase letters were allowed in 2021
// (varlink/go#28, varlink/go#29; systemd's io.systemd.* have them too): such
// a description is parsed with its name lowercased, and everything else of
// it still by the library.
func parse(description string) (*iface, error) {
	d, err := idl.New(description)
	if err != nil {
		name := interfaceLine.FindStringSubmatch(description)
		if name == nil || strings.ToLower(name[1]) == name[1] {
			return nil, err
		}
		lowered := interfaceLine.ReplaceAllString(description, "interface "+strings.ToLower(name[1]))
		if d, err = idl.New(lowered); err != nil {
			return nil, err
		}
		logf("parsed %s with its name lowercased: this varlink/go predates uppercase interface names",
			name[1])
		d.Name = name[1]
	}
	i := &iface{idl: d, types: map[string]*idl.Type{}}
	for _, a := range d.Aliases {
		i.types[a.Name] = a.Type
	}
	return i, nil
}

func (i *iface) method(name string) *idl.Method {
	for _, m := range i.idl.Methods {
		if m.Name == name {
			return m
		}
	}
	return nil
}

func (i *iface) errorType(name string) *idl.Type {
	for _, e := range i.idl.Errors {
		if e.Name == name {
			return e.Type
		}
	}
	return nil
}

var integer = regexp.MustCompile(`^-?[0-9]+$`)

// check holds v, decoded with UseNumber, to t; path names the place for messages.
func (i *iface) check(t *idl.Type, v interface{}, path string) {
	if t.Kind == idl.TypeMaybe {
		if v != nil {
			i.check(t.ElementType, v, path)
		}
		return
	}
	if v == nil {
		fail("%s: null, but its type is not optional", path)
		return
	}
	switch t.Kind {
	case idl.TypeBool:
		if _, ok := v.(bool); !ok {
			fail("%s: %v is not a bool", path, v)
		}
	case idl.TypeInt:
		if n, ok := v.(json.Number); !ok || !integer.MatchString(string(n)) {
			fail("%s: %v is not an int", path, v)
		}
	case idl.TypeFloat:
		if _, ok := v.(json.Number); !ok {
			fail("%s: %v is not a float", path, v)
		}
	case idl.TypeString:
		if _, ok := v.(string); !ok {
			fail("%s: %v is not a string", path, v)
		}
	case idl.TypeObject:
		if _, ok := v.(map[string]interface{}); !ok {
			fail("%s: %v is not an object", path, v)
		}
	case idl.TypeArray:
		a, ok := v.([]interface{})
		if !ok {
			fail("%s: %v is not an array", path, v)
			return
		}
		for k, e := range a {
			i.check(t.ElementType, e, fmt.Sprintf("%s[%d]", path, k))
		}
	case idl.TypeMap:
		m, ok := v.(map[string]interface{})
		if !ok {
			fail("%s: %v is not a map", path, v)
			return
		}
		for k, e := range m {
			i.check(t.ElementType, e, path+"["+k+"]")
		}
	case idl.TypeEnum:
		s, ok := v.(string)
		known := false
		for _, f := range t.Fields {
			known = known || f.Name == s
		}
		if !ok || !known {
			fail("%s: %v is not one of the enum's values", path, v)
		}
	case idl.TypeAlias:
		a, ok := i.types[t.Alias]
		if !ok {
			fail("%s: type %s is not declared", path, t.Alias)
			return
		}
		i.check(a, v, path)
	case idl.TypeStruct:
		i.checkStruct(t, v, path)
	default:
		fail("%s: type kind %d unknown to this client", path, t.Kind)
	}
}

func (i *iface) checkStruct(t *idl.Type, v interface{}, path string) {
	m, ok := v.(map[string]interface{})
	if !ok {
		fail("%s: %v is not an object", path, v)
		return
	}
	declared := map[string]bool{}
	for _, f := range t.Fields {
		declared[f.Name] = true
		e, present := m[f.Name]
		if !present && f.Type.Kind != idl.TypeMaybe {
			fail("%s.%s: missing, but its type is not optional", path, f.Name)
			continue
		}
		i.check(f.Type, e, path+"."+f.Name)
	}
	for k := range m {
		if !declared[k] {
			fail("%s.%s: not declared", path, k)
		}
	}
}

func decode(raw []byte) (interface{}, error) {
	var v interface{}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	err := d.Decode(&v)
	return v, err
}

// call calls a method of io.memtide.Manager and checks the reply against
// what the description declares it returns; the reply, decoded.
func call(ctx context.Context, c *varlink.Connection, i *iface, method string,
	params interface{}) map[string]interface{} {
	var raw json.RawMessage
	m := i.method(method)
	if m == nil {
		fail("%s is not declared", method)
		return nil
	}
	if err := c.Call(ctx, manager+"."+method, params, &raw); err != nil {
		fail("%s: %v", method, err)
		return nil
	}
	v, err := decode(raw)
	if err != nil {
		fail("%s: reply parameters: %v", method, err)
		return nil
	}
	i.check(m.Out, v, method)
	logf("%s: %d bytes of reply, as declared", method, len(raw))
	r, _ := v.(map[string]interface{})
	return r
}

// callError calls a method that must fail with the error named, and checks
// the error's parameters against its declaration.
func callError(ctx context.Context, c *varlink.Connection, i *iface, method string,
	params interface{}, want string) {
	var out json.RawMessage
	err := c.Call(ctx, manager+"."+method, params, &out)
	var e *varlink.Error
	if !errors.As(err, &e) || e.Name != manager+"."+want {
		fail("%s: got %v, want %s.%s", method, err, manager, want)
		return
	}
	t := i.errorType(want)
	if t == nil {
		fail("%s: error %s is not declared", method, want)
		return
	}
	var v interface{} = map[string]interface{}{}
	if raw, ok := e.Parameters.(*json.RawMessage); ok && raw != nil {
		if v, err = decode(*raw); err != nil {
			fail("%s: error parameters: %v", method, err)
			return
		}
	}
	i.check(t, v, method+" error "+want)
	logf("%s: %s, as declared", method, e.Name)
}

func introspect(ctx context.Context, c *varlink.Connection, idlPath string) *iface {
	var vendor, product, version, url string
	var interfaces []string
	if err := c.GetInfo(ctx, &vendor, &product, &version, &url, &interfaces); err != nil {
		fail("GetInfo: %v", err)
		return nil
	}
	logf("GetInfo: vendor %q product %q version %q url %q interfaces %v", vendor, product,
		version, url, interfaces)
	if vendor != "memtide" || product != "memtided" || version == "" {
		fail("GetInfo: vendor %q product %q version %q", vendor, product, version)
	}
	if url == "" || strings.Contains(url, ".invalid") {
		fail("GetInfo: url %q is a placeholder", url)
	}
	sorted := append([]string(nil), interfaces...)
	sort.Strings(sorted)
	if !reflect.DeepEqual(sorted, []string{manager, "org.varlink.service"}) {
		fail("GetInfo: interfaces %v", interfaces)
	}

	var mine *iface
	for _, name := range interfaces {
		description, err := c.GetInterfaceDescription(ctx, name)
		if err != nil {
			fail("GetInterfaceDescription(%s): %v", name, err)
			continue
		}
		i, err := parse(description)
		if err != nil {
			fail("GetInterfaceDescription(%s): the idl parser refuses it: %v", name, err)
			continue
		}
		if i.idl.Name != name {
			fail("GetInterfaceDescription(%s) describes %s", name, i.idl.Name)
		}
		logf("GetInterfaceDescription(%s): %d bytes, parsed: %d types, %d methods, %d errors",
			name, len(description), len(i.idl.Aliases), len(i.idl.Methods), len(i.idl.Errors))
		if name == manager {
			mine = i
			if idlPath != "" {
				file, err := os.ReadFile(idlPath)
				if err != nil {
					fail("%v", err)
				} else if string(file) != description {
					fail("GetInterfaceDescription(%s) is not %s", name, idlPath)
				}
			}
		}
	}
	_, err := c.GetInterfaceDescription(ctx, "org.example.None")
	var notFound *varlink.InterfaceNotFound
	if !errors.As(err, &notFound) || notFound.Interface != "org.example.None" {
		fail("GetInterfaceDescription(org.example.None): got %v, want InterfaceNotFound", err)
	} else {
		logf("GetInterfaceDescription(org.example.None): InterfaceNotFound (%s)",
			notFound.Interface)
	}
	return mine
}

func run(address, idlPath, guest string, unprivileged bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := varlink.NewConnection(ctx, address)
	if err != nil {
		fail("connect %s: %v", address, err)
		return
	}
	defer c.Close()

	i := introspect(ctx, c, idlPath)
	if i == nil {
		fail("no usable description of %s", manager)
		return
	}
	call(ctx, c, i, "GetStatus", nil)
	if unprivileged {
		callError(ctx, c, i, "Reload", nil, "PermissionDenied")
		callError(ctx, c, i, "SetOverride",
			map[string]interface{}{"name": "vm-x", "shares": 10}, "PermissionDenied")
		return
	}

	list := call(ctx, c, i, "ListGuests", nil)
	if guests, _ := list["guests"].([]interface{}); guest != "" && len(guests) == 0 {
		fail("ListGuests: no guest, expected %s", guest)
	}
	call(ctx, c, i, "GetMetrics", nil)
	call(ctx, c, i, "Explain", nil)
	callError(ctx, c, i, "GetGuest", map[string]string{"name": "no-such-guest"}, "NoSuchGuest")
	callError(ctx, c, i, "ResetOverride", map[string]string{"name": "no-such-guest"},
		"NoSuchGuest")
	if guest == "" {
		return
	}
	call(ctx, c, i, "SetOverride", map[string]interface{}{"name": guest, "shares": 500})
	g := call(ctx, c, i, "GetGuest", map[string]string{"name": guest})
	if gj, _ := g["guest"].(map[string]interface{}); gj == nil || gj["name"] != guest ||
		gj["override"] == nil {
		fail("GetGuest(%s): not the guest, or without its override: %v", guest, g)
	}
	call(ctx, c, i, "GetCompat", map[string]string{"name": guest})
	call(ctx, c, i, "Explain", map[string]string{"name": guest})
	call(ctx, c, i, "ResetOverride", map[string]string{"name": guest})
}

func main() {
	address := flag.String("address", "", "the service, unix:PATH")
	idlPath := flag.String("idl", "", "the interface description GetInterfaceDescription must serve")
	guest := flag.String("guest", "", "a guest memtided manages")
	unprivileged := flag.Bool("unprivileged", false, "check that changing is refused")
	flag.Parse()
	if *address == "" {
		fmt.Fprintln(os.Stderr, "usage: varlink-go-client -address unix:PATH [-idl FILE] [-guest NAME] [-unprivileged]")
		os.Exit(2)
	}
	run(*address, *idlPath, *guest, *unprivileged)
	if len(failures) > 0 {
		fmt.Fprintf(os.Stderr, "%d failure(s)\n", len(failures))
		os.Exit(1)
	}
	fmt.Println("PASS")
}
