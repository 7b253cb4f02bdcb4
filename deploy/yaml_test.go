package deploy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// parseYAML reads the block-style YAML subset that Kubernetes manifests
// use (mappings, sequences, plain and quoted scalars, | block scalars,
// comments, "---" between documents) into map[string]any / []any /
// scalars. It is strict: anything outside the subset (anchors, tags, flow
// collections with content, tabs) is an error, so a manifest that this
// reads the wrong way fails the test instead of passing it. The module
// has no YAML package and this keeps the tests on the standard library.
func parseYAML(src string) ([]any, error) {
	var docs []any
	var cur []string
	flush := func() error {
		p := &yamlParser{lines: cur}
		if _, _, ok := p.peek(); !ok {
			cur = nil
			return nil
		}
		v, err := p.node(0)
		if err != nil {
			return err
		}
		if _, line, ok := p.peek(); ok {
			return fmt.Errorf("unexpected line %q", line)
		}
		docs = append(docs, v)
		cur = nil
		return nil
	}
	for _, l := range strings.Split(src, "\n") {
		if strings.Contains(l, "\t") && strings.TrimSpace(l) != "" && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			return nil, fmt.Errorf("tab in %q", l)
		}
		if strings.TrimRight(l, " ") == "---" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		cur = append(cur, strings.TrimRight(l, " \r"))
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return docs, nil
}

type yamlParser struct {
	lines []string
	i     int
}

// peek returns the next line that is neither blank nor a comment.
func (p *yamlParser) peek() (indent int, text string, ok bool) {
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		t := strings.TrimLeft(l, " ")
		if t == "" || strings.HasPrefix(t, "#") {
			p.i++
			continue
		}
		return len(l) - len(t), t, true
	}
	return 0, "", false
}

// node reads the mapping or sequence that starts at the next line, whose
// indent must be at least min.
func (p *yamlParser) node(min int) (any, error) {
	ind, text, ok := p.peek()
	if !ok || ind < min {
		return nil, nil
	}
	if text == "-" || strings.HasPrefix(text, "- ") {
		return p.sequence(ind)
	}
	if mapKey.MatchString(text) {
		return p.mapping(ind)
	}
	return nil, fmt.Errorf("line %q is neither a key nor a list item", text)
}

var mapKey = regexp.MustCompile(`^("[^"]*"|'[^']*'|[^\s#'"{\[\-][^:#]*?|-[^\s:#][^:#]*?)\s*:(\s|$)`)

func (p *yamlParser) mapping(ind int) (any, error) {
	m := map[string]any{}
	for {
		i, text, ok := p.peek()
		if !ok || i < ind {
			return m, nil
		}
		if i > ind {
			return nil, fmt.Errorf("line %q is indented more than its mapping", text)
		}
		loc := mapKey.FindStringSubmatchIndex(text)
		if loc == nil {
			if strings.HasPrefix(text, "- ") || text == "-" {
				return m, nil // a sequence at the indent of its parent's key
			}
			return nil, fmt.Errorf("line %q is not 'key: value'", text)
		}
		key, err := scalarString(text[loc[2]:loc[3]])
		if err != nil {
			return nil, err
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		rest := strings.TrimSpace(text[loc[1]:])
		p.i++
		switch {
		case rest == "" || strings.HasPrefix(rest, "#"):
			ni, ntext, ok := p.peek()
			switch {
			case ok && ni > ind:
				m[key], err = p.node(ni)
			case ok && ni == ind && (strings.HasPrefix(ntext, "- ") || ntext == "-"):
				m[key], err = p.sequence(ind)
			default:
				m[key] = nil
			}
		case rest == "|" || rest == "|-":
			m[key] = p.block(ind, rest == "|")
		default:
			m[key], err = scalar(rest)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
}

func (p *yamlParser) sequence(ind int) (any, error) {
	s := []any{}
	for {
		i, text, ok := p.peek()
		if !ok || i != ind || !(strings.HasPrefix(text, "- ") || text == "-") {
			if ok && i > ind {
				return nil, fmt.Errorf("line %q is indented more than its list", text)
			}
			return s, nil
		}
		item := strings.TrimPrefix(text, "-")
		trimmed := strings.TrimLeft(item, " ")
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			p.i++
			ni, _, ok := p.peek()
			if !ok || ni <= ind {
				s = append(s, nil)
				continue
			}
			v, err := p.node(ni)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		case mapKey.MatchString(trimmed):
			// "- key: v": the item is a mapping whose keys line up with key.
			col := ind + 1 + len(item) - len(trimmed)
			p.lines[p.i] = strings.Repeat(" ", col) + trimmed
			v, err := p.mapping(col)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		default:
			p.i++
			v, err := scalar(trimmed)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
	}
}

// block reads a "|" block scalar: the lines indented more than ind.
func (p *yamlParser) block(ind int, keepNewline bool) string {
	var out []string
	blockInd := -1
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		t := strings.TrimLeft(l, " ")
		if t != "" && len(l)-len(t) <= ind {
			break
		}
		if t != "" && blockInd < 0 {
			blockInd = len(l) - len(t)
		}
		if len(l) >= blockInd && blockInd >= 0 {
			l = l[blockInd:]
		} else {
			l = ""
		}
		out = append(out, l)
		p.i++
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	s := strings.Join(out, "\n")
	if keepNewline {
		s += "\n"
	}
	return s
}

var yamlInt = regexp.MustCompile(`^-?[0-9]+$`)

// scalar types a value: quoted strings, booleans, null, integers (a
// leading 0 is octal, as Kubernetes reads defaultMode: 0440), {} and [].
func scalar(s string) (any, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "'") {
		return scalarString(s)
	}
	if i := strings.Index(s, " #"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	switch {
	case s == "{}":
		return map[string]any{}, nil
	case s == "[]":
		return []any{}, nil
	case s == "" || s == "~" || s == "null":
		return nil, nil
	case s == "true":
		return true, nil
	case s == "false":
		return false, nil
	case strings.ContainsAny(s[:1], "{[&*!|>%@`"):
		return nil, fmt.Errorf("value %q is outside the YAML this test reads", s)
	case yamlInt.MatchString(s):
		base := 10
		if len(s) > 1 && s[0] == '0' {
			base = 8
		}
		n, err := strconv.ParseInt(s, base, 64)
		if err != nil {
			return nil, fmt.Errorf("value %q: %w", s, err)
		}
		return int(n), nil
	}
	return s, nil
}

// scalarString reads a key or a quoted value as a string.
func scalarString(s string) (string, error) {
	switch {
	case strings.HasPrefix(s, `"`):
		end := strings.LastIndex(s, `"`)
		if end == 0 {
			return "", fmt.Errorf("unterminated string %s", s)
		}
		if rest := strings.TrimSpace(s[end+1:]); rest != "" && !strings.HasPrefix(rest, "#") {
			return "", fmt.Errorf("text after the string %s", s)
		}
		return strconv.Unquote(s[:end+1])
	case strings.HasPrefix(s, "'"):
		end := strings.LastIndex(s, "'")
		if end == 0 {
			return "", fmt.Errorf("unterminated string %s", s)
		}
		if rest := strings.TrimSpace(s[end+1:]); rest != "" && !strings.HasPrefix(rest, "#") {
			return "", fmt.Errorf("text after the string %s", s)
		}
		return strings.ReplaceAll(s[1:end], "''", "'"), nil
	}
	return strings.TrimSpace(s), nil
}

// get walks a parsed document: get(doc, "spec", "template", 0, "name").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}
