package infra

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Values reach ApplyT closures by name (resolveNamed, policyJSON, policyJSONFrom), never as
// pulumi.All's positional []any, whose v[0], v[1] are set far from where they are read.
func TestNoPositionalApplyClosures(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "pulumi" && (n.Sel.Name == "All" || n.Sel.Name == "AllWithContext") {
					t.Errorf("%s: pulumi.%s: pass a struct of named inputs to resolveNamed or policyJSONFrom instead", fset.Position(n.Pos()), n.Sel.Name)
				}
			case *ast.FuncLit:
				for _, p := range n.Type.Params.List {
					if arr, ok := p.Type.(*ast.ArrayType); ok && arr.Len == nil {
						if elem, ok := arr.Elt.(*ast.Ident); ok && (elem.Name == "any" || elem.Name == "string") && len(n.Type.Params.List) == 1 {
							if isApplyArgument(f, n) {
								t.Errorf("%s: an apply closure takes []%s: name its values instead", fset.Position(n.Pos()), elem.Name)
							}
						}
					}
				}
			}
			return true
		})
	}
}

// isApplyArgument reports whether fn is passed to an ApplyT call (or a helper that renders
// outputs) in f.
func isApplyArgument(f *ast.File, fn *ast.FuncLit) bool {
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		name := ""
		switch c := call.Fun.(type) {
		case *ast.SelectorExpr:
			name = c.Sel.Name
		case *ast.Ident:
			name = c.Name
		}
		if strings.HasPrefix(name, "Apply") || strings.HasPrefix(name, "policyJSON") || name == "resolveNamed" {
			for _, arg := range call.Args {
				if arg == fn {
					found = true
				}
			}
		}
		return !found
	})
	return found
}
