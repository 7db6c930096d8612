package lookup

import (
	"database/sql"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // SQLite without cgo
)

// sqlite runs an SQL query (spec 9.21, 9.26). The database file is, in
// order: the ",file=/path" lookup option, a first word starting with "/"
// in the query (deprecated form), or the main option sqlite_dbfile; it must
// be an absolute path. As with Exim's SQLite library, a file that does not
// exist is created.
//
// Result: no rows is "not found"; a query the database rejects is also
// "not found" (Exim 4.96 does the same; the error goes to the debug log).
// One column: the value itself. Several columns: "name=value " for each,
// values quoted when empty or holding white space. Rows are joined with
// newlines. NULL is "<NULL>".
func (r *Registry) sqlite(st *typeSpec, q string) (string, bool, error) {
	file, ok := st.opt("file")
	if !ok {
		if t := strings.TrimLeft(q, " \t\n"); strings.HasPrefix(t, "/") {
			end := strings.IndexAny(t, " \t\n")
			if end < 0 {
				end = len(t)
			}
			file, q = t[:end], t[end:]
		} else {
			file = r.opts.SQLiteDBFile
		}
	}
	if !filepath.IsAbs(file) {
		return "", false, fmt.Errorf("absolute file name expected for %q lookup", "sqlite")
	}
	if strings.TrimSpace(q) == "" {
		return "", false, nil
	}
	db, err := r.sqliteDB(file)
	if err != nil {
		return "", false, &DeferError{Msg: fmt.Sprintf("sqlite3_open(%s) failed: %v", file, err)}
	}
	rows, err := db.Query(q)
	if err != nil {
		r.debugf("sqlite error: %v", err)
		return "", false, nil
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		r.debugf("sqlite error: %v", err)
		return "", false, nil
	}
	var out []string
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			r.debugf("sqlite error: %v", err)
			return "", false, nil
		}
		if len(cols) == 1 {
			out = append(out, sqliteText(vals[0]))
			continue
		}
		var b strings.Builder
		for i, c := range cols {
			v := sqliteText(vals[i])
			b.WriteString(c)
			b.WriteByte('=')
			if v == "" || strings.ContainsAny(v, " \t\n\r") {
				b.WriteByte('"')
				for j := 0; j < len(v); j++ {
					if v[j] == '"' || v[j] == '\\' {
						b.WriteByte('\\')
					}
					b.WriteByte(v[j])
				}
				b.WriteByte('"')
			} else {
				b.WriteString(v)
			}
			b.WriteByte(' ')
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		r.debugf("sqlite error: %v", err)
		return "", false, nil
	}
	if len(out) == 0 {
		return "", false, nil
	}
	return strings.Join(out, "\n"), true, nil
}

// sqliteText renders a value as sqlite3_column_text() does.
func sqliteText(v any) string {
	switch x := v.(type) {
	case nil:
		return "<NULL>"
	case []byte:
		return string(x)
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return strconv.FormatFloat(x, 'g', 15, 64)
		}
		s := strconv.FormatFloat(x, 'g', 15, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case bool:
		if x {
			return "1"
		}
		return "0"
	}
	return fmt.Sprint(v)
}

// sqliteDB returns the open database for file, opening it once per
// Registry.
func (r *Registry) sqliteDB(file string) (*sql.DB, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dbs == nil {
		r.dbs = map[string]*sql.DB{}
	}
	if db, ok := r.dbs[file]; ok {
		return db, nil
	}
	dsn := "file:" + (&url.URL{Path: file}).EscapedPath() +
		"?_pragma=busy_timeout(" + strconv.FormatInt(r.opts.SQLiteTimeout.Milliseconds(), 10) + ")"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	r.dbs[file] = db
	return db, nil
}
