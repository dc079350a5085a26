package problemcodes

import (
	"go/ast"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cardledger/cardledger/internal/srcscan"
)

// use is one place production code answers with a code.
type use struct {
	code   string
	status int    // 0 when the place does not fix it
	where  string // file:line
}

// statusOf is the status each problem constructor answers with; NewProblem
// takes it as its first argument.
var statusOf = map[string]int{"BadRequest": 400, "NotFound": 404, "Conflict": 409, "Unprocessable": 422, "PreconditionFailed": 412, "NewProblem": -1}

// httpStatus resolves the net/http status constants NewProblem is called with.
var httpStatus = map[string]int{
	"StatusBadRequest": 400, "StatusUnauthorized": 401, "StatusForbidden": 403, "StatusNotFound": 404,
	"StatusMethodNotAllowed": 405, "StatusConflict": 409, "StatusPreconditionFailed": 412,
	"StatusRequestEntityTooLarge": 413, "StatusUnsupportedMediaType": 415, "StatusUnprocessableEntity": 422,
	"StatusTooManyRequests": 429, "StatusInternalServerError": 500, "StatusServiceUnavailable": 503,
}

// scanCodes finds, in every non-test Go file of the module outside this
// package, the codes production code can answer with:
//   - every string constant named Code... (the modules' code constants);
//   - the code argument of every problem constructor (httpapi.NewProblem,
//     BadRequest, NotFound, Conflict, Unprocessable, PreconditionFailed and
//     the domain's NotFound and Conflict) when it is a literal or a constant;
//   - every `Code: "literal"` in a composite literal (field errors).
func scanCodes(t *testing.T) []use {
	t.Helper()
	type file struct {
		rel, pkgDir string
		fset        *token.FileSet
		f           *ast.File
	}
	var files []file
	consts := map[string]map[string]string{} // package dir → const name → string value
	for _, sf := range srcscan.ProductionFiles(t) {
		if strings.HasPrefix(sf.Rel, "internal/problemcodes/") {
			continue
		}
		fl := file{rel: sf.Rel, pkgDir: filepath.ToSlash(filepath.Dir(sf.Rel)), fset: sf.Fset, f: sf.AST}
		files = append(files, fl)
		if consts[fl.pkgDir] == nil {
			consts[fl.pkgDir] = map[string]string{}
		}
		for _, decl := range fl.f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[fl.pkgDir][name.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
	}
	const module = "github.com/cardledger/cardledger/"
	var uses []use
	for _, fl := range files {
		imports := map[string]string{} // local name → package dir
		for _, imp := range fl.f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, module) {
				continue
			}
			name := filepath.Base(p)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			imports[name] = strings.TrimPrefix(p, module)
		}
		resolve := func(e ast.Expr) (string, bool) {
			switch e := e.(type) {
			case *ast.BasicLit:
				if e.Kind == token.STRING {
					s, _ := strconv.Unquote(e.Value)
					return s, true
				}
			case *ast.Ident:
				v, ok := consts[fl.pkgDir][e.Name]
				return v, ok
			case *ast.SelectorExpr:
				if x, ok := e.X.(*ast.Ident); ok && imports[x.Name] != "" {
					v, ok := consts[imports[x.Name]][e.Sel.Name]
					return v, ok
				}
			}
			return "", false
		}
		at := func(n ast.Node) string {
			return fl.rel + ":" + strconv.Itoa(fl.fset.Position(n.Pos()).Line)
		}
		for _, decl := range fl.f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
						continue
					}
					if v, ok := resolve(vs.Values[i]); ok {
						uses = append(uses, use{code: v, where: at(name)})
					}
				}
			}
		}
		ast.Inspect(fl.f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				var fn string
				switch f := n.Fun.(type) {
				case *ast.Ident:
					fn = f.Name
				case *ast.SelectorExpr:
					fn = f.Sel.Name
				}
				status, ok := statusOf[fn]
				if !ok {
					return true
				}
				arg := 0
				if status < 0 {
					arg, status = 1, 0
					if len(n.Args) > 0 {
						if sel, ok := n.Args[0].(*ast.SelectorExpr); ok {
							status = httpStatus[sel.Sel.Name]
						} else if lit, ok := n.Args[0].(*ast.BasicLit); ok {
							status, _ = strconv.Atoi(lit.Value)
						}
					}
				}
				if len(n.Args) > arg {
					if code, ok := resolve(n.Args[arg]); ok {
						uses = append(uses, use{code: code, status: status, where: at(n)})
					}
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Code" {
					if lit, ok := n.Value.(*ast.BasicLit); ok {
						code, _ := strconv.Unquote(lit.Value)
						uses = append(uses, use{code: code, where: at(n)})
					}
				}
			}
			return true
		})
	}
	sort.Slice(uses, func(i, j int) bool { return uses[i].code < uses[j].code })
	return uses
}
