package admin

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// This file checks the admin stylesheet for WCAG AA contrast: every text
// colour on the background it is shown on, at least 4.5:1. It parses the
// CSS (rules, @media blocks, custom properties) and works out, for every
// rule that paints a background, which text colour wins on the elements
// it matches (by specificity and order, as a browser does), and for every
// rule that sets only a text colour, which background it sits on.

// cssRule is one selector of a rule with its declarations.
type cssRule struct {
	selector string
	decls    map[string]string
	order    int
}

var (
	cssComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
	cssVar     = regexp.MustCompile(`var\((--[\w-]+)\)`)
)

// parseCSS returns the rules of a stylesheet, one per selector, in order.
// @media blocks are flattened: a rule that applies at some width counts.
func parseCSS(css string) ([]cssRule, map[string]string, error) {
	css = cssComment.ReplaceAllString(css, "")
	var rules []cssRule
	vars := map[string]string{}
	var parse func(s string) error
	parse = func(s string) error {
		for {
			s = strings.TrimSpace(s)
			if s == "" {
				return nil
			}
			open := strings.IndexByte(s, '{')
			if open < 0 {
				return fmt.Errorf("no block after %q", s)
			}
			head := strings.TrimSpace(s[:open])
			depth, end := 0, -1
			for i := open; i < len(s); i++ {
				switch s[i] {
				case '{':
					depth++
				case '}':
					depth--
				}
				if depth == 0 {
					end = i
					break
				}
			}
			if end < 0 {
				return fmt.Errorf("unclosed block after %q", head)
			}
			body := s[open+1 : end]
			s = s[end+1:]
			if strings.HasPrefix(head, "@media") {
				if err := parse(body); err != nil {
					return err
				}
				continue
			}
			decls := map[string]string{}
			for _, d := range strings.Split(body, ";") {
				k, v, ok := strings.Cut(d, ":")
				if ok {
					decls[strings.TrimSpace(k)] = strings.TrimSpace(v)
				}
			}
			if head == ":root" {
				for k, v := range decls {
					if strings.HasPrefix(k, "--") {
						vars[k] = v
					}
				}
			}
			for _, sel := range splitTop(head, ',') {
				rules = append(rules, cssRule{selector: strings.TrimSpace(sel), decls: decls, order: len(rules)})
			}
		}
	}
	if err := parse(css); err != nil {
		return nil, nil, err
	}
	return rules, vars, nil
}

// splitTop splits s at sep outside parentheses and brackets.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// compounds splits a selector into its compound selectors, ancestors
// first ("li.room .status" -> ["li.room", ".status"]); combinators are
// dropped.
func compounds(sel string) []string {
	var out []string
	for _, part := range splitTop(strings.NewReplacer(">", " ", "+", " ", "~", " ").Replace(sel), ' ') {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

var simpleRE = regexp.MustCompile(`::?[\w-]+(\([^)]*(\([^)]*\))?[^)]*\))?|\.[\w-]+|#[\w-]+|\[[^\]]*\]|^[\w-]+|\*`)

// simples returns the simple selectors of a compound, e.g. "li.room" ->
// ["li", ".room"].
func simples(compound string) []string { return simpleRE.FindAllString(compound, -1) }

// specificity is (ids, classes/attributes/pseudo-classes, types), counted
// over the whole selector, :not()/:has() arguments included.
func specificity(sel string) [3]int {
	var s [3]int
	for _, c := range compounds(sel) {
		for _, p := range simples(c) {
			switch {
			case strings.HasPrefix(p, "#"):
				s[0]++
			case strings.HasPrefix(p, ":not(") || strings.HasPrefix(p, ":has("):
				inner := specificity(p[5 : len(p)-1])
				s[0], s[1], s[2] = s[0]+inner[0], s[1]+inner[1], s[2]+inner[2]
			case strings.HasPrefix(p, "::"):
				s[2]++
			case strings.HasPrefix(p, "."), strings.HasPrefix(p, "["), strings.HasPrefix(p, ":"):
				s[1]++
			case p != "*":
				s[2]++
			}
		}
	}
	return s
}

// wins reports whether rule a beats rule b for the same property.
func wins(a, b cssRule) bool {
	sa, sb := specificity(a.selector), specificity(b.selector)
	if sa != sb {
		return sa[0] > sb[0] || sa[0] == sb[0] && (sa[1] > sb[1] || sa[1] == sb[1] && sa[2] > sb[2])
	}
	return a.order > b.order
}

// covers reports whether every element matching the compound of the
// subject also matches the compound of the candidate: the candidate's
// simple selectors are a subset (pseudo-elements aside).
func covers(candidate, subject string) bool {
	subj := simples(subject)
	for _, p := range simples(candidate) {
		if !slices.Contains(subj, p) {
			return false
		}
	}
	return true
}

// stateClasses are the class prefixes of states: an element has one
// class of each (a room is s-free or s-busy, never both), so a rule for
// one state never applies to an element of another.
var stateClasses = []string{".s-", ".d-", ".c-", ".a-"}

// conflicts reports whether two selectors name different states of one
// kind, and so never match the same element.
func conflicts(a, b string) bool {
	classes := func(sel string) []string {
		var out []string
		for _, c := range compounds(sel) {
			for _, p := range simples(c) {
				if strings.HasPrefix(p, ".") {
					out = append(out, p)
				}
			}
		}
		return out
	}
	ca, cb := classes(a), classes(b)
	for _, x := range ca {
		for _, prefix := range stateClasses {
			if !strings.HasPrefix(x, prefix) {
				continue
			}
			for _, y := range cb {
				if strings.HasPrefix(y, prefix) && y != x {
					return true
				}
			}
		}
	}
	return false
}

// mayApply reports whether rule selector t applies to the elements that
// selector s matches: t's last compound is satisfied by s's, and the two
// do not name different states.
func mayApply(t, s string) bool { return covers(last(t), last(s)) && !conflicts(t, s) }

// decorative are elements without text, whose background needs no text
// contrast: the status dot beside a panel's name.
var decorative = []string{".dot"}

// last returns a selector's last compound, ignoring ::before and ::after
// so that a pseudo-element shares its element's background.
func last(sel string) string {
	c := compounds(sel)
	return strings.NewReplacer("::before", "", "::after", "").Replace(c[len(c)-1])
}

type rgb [3]float64

// parseColor reads #rgb, #rrggbb and a few names after resolving var().
func parseColor(v string, vars map[string]string) (rgb, bool) {
	for i := 0; i < 5 && strings.Contains(v, "var("); i++ {
		v = cssVar.ReplaceAllStringFunc(v, func(m string) string { return vars[cssVar.FindStringSubmatch(m)[1]] })
	}
	v = strings.TrimSpace(strings.TrimSuffix(strings.ToLower(v), "!important"))
	switch v {
	case "white":
		v = "#fff"
	case "black":
		v = "#000"
	}
	if !strings.HasPrefix(v, "#") {
		return rgb{}, false
	}
	h := v[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return rgb{}, false
	}
	var c rgb
	for i := range 3 {
		n, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return rgb{}, false
		}
		c[i] = float64(n) / 255
	}
	return c, true
}

// contrast is the WCAG 2 contrast ratio of two colours.
func contrast(a, b rgb) float64 {
	lum := func(c rgb) float64 {
		var l [3]float64
		for i, v := range c {
			if v <= 0.03928 {
				l[i] = v / 12.92
			} else {
				l[i] = math.Pow((v+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
	}
	x, y := lum(a), lum(b)
	if x < y {
		x, y = y, x
	}
	return (x + 0.05) / (y + 0.05)
}

func background(r cssRule, vars map[string]string) (rgb, bool) {
	for _, k := range []string{"background-color", "background"} {
		if v, ok := r.decls[k]; ok {
			return parseColor(v, vars)
		}
	}
	return rgb{}, false
}

// contrastProblems returns every text/background pair of the stylesheet
// under 4.5:1, and how many pairs it checked.
func contrastProblems(css string) ([]string, int, error) {
	rules, vars, err := parseCSS(css)
	if err != nil {
		return nil, 0, err
	}
	root, ok := parseColor("var(--ink)", vars)
	if !ok {
		return nil, 0, fmt.Errorf("no --ink colour in :root")
	}
	// The backgrounds text sits on when nothing closer paints one.
	var pages []rgb
	for _, name := range []string{"var(--bg)", "var(--card)"} {
		if c, ok := parseColor(name, vars); ok {
			pages = append(pages, c)
		}
	}
	var problems []string
	checked := 0
	check := func(what string, fg, bg rgb) {
		checked++
		if r := contrast(fg, bg); r < 4.5 {
			problems = append(problems, fmt.Sprintf("%s: contrast %.2f:1, want at least 4.5:1", what, r))
		}
	}
	// textOn is the colour that wins on an element matched by sel: the
	// highest-ranked rule setting color whose last compound the element
	// certainly matches, else the colour inherited from an ancestor
	// compound of sel, else the root's.
	textOn := func(sel string) (rgb, string) {
		var best *cssRule
		for i := range rules {
			r := &rules[i]
			if _, has := r.decls["color"]; !has || !mayApply(r.selector, sel) {
				continue
			}
			if best == nil || wins(*r, *best) {
				best = r
			}
		}
		if best != nil {
			if c, ok := parseColor(best.decls["color"], vars); ok {
				return c, best.selector
			}
		}
		comps := compounds(sel)
		for i := len(comps) - 2; i >= 0; i-- {
			for _, r := range rules {
				if c, ok := parseColor(r.decls["color"], vars); ok && covers(last(r.selector), comps[i]) && !conflicts(r.selector, sel) {
					return c, r.selector + " (inherited)"
				}
			}
		}
		return root, ":root"
	}
	// backgroundsBehind are the backgrounds text of an element matched by
	// sel sits on: an ancestor compound's, else the page's. When rules
	// paint the element itself (own is true), the loop over background
	// rules has checked it with the colour that wins there.
	backgroundsBehind := func(sel string) (bgs []rgb, from string, own bool) {
		comps := compounds(sel)
		for i := len(comps) - 1; i >= 0; i-- {
			var best *cssRule
			for j := range rules {
				r := &rules[j]
				_, declared := r.decls["background"]
				_, declaredColor := r.decls["background-color"]
				if (declared || declaredColor) && covers(last(r.selector), strings.NewReplacer("::before", "", "::after", "").Replace(comps[i])) && !conflicts(r.selector, sel) {
					if best == nil || wins(*r, *best) {
						best = r
					}
				}
			}
			if best == nil {
				continue
			}
			c, paints := background(*best, vars)
			if !paints {
				continue // background: none: what is behind shows
			}
			if i == len(comps)-1 {
				return nil, best.selector, true
			}
			return []rgb{c}, best.selector, false
		}
		return pages, "the page", false
	}
	for _, r := range rules {
		if slices.Contains(decorative, last(r.selector)) || slices.ContainsFunc(compounds(r.selector), func(c string) bool { return slices.Contains(decorative, c) }) {
			continue
		}
		if bg, ok := background(r, vars); ok {
			fg, from := textOn(r.selector)
			check(fmt.Sprintf("%q: text from %q on its background", r.selector, from), fg, bg)
		}
		if fg, ok := parseColor(r.decls["color"], vars); ok {
			bgs, from, own := backgroundsBehind(r.selector)
			if own {
				continue // checked above, with the colour that wins
			}
			for _, bg := range bgs {
				check(fmt.Sprintf("%q: its text on the background of %s", r.selector, from), fg, bg)
			}
		}
	}
	return problems, checked, nil
}

// TestStylesheetContrast: every text colour of the admin UI on its
// background is at least 4.5:1.
func TestStylesheetContrast(t *testing.T) {
	css, err := uiFS.ReadFile("ui/static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	problems, checked, err := contrastProblems(string(css))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if checked < 40 {
		t.Errorf("only %d pairs checked: the parser missed rules", checked)
	}
	t.Logf("%d text/background pairs checked", checked)
}

// TestContrastCheckFindsTheAmberBug: the check catches the bug it was
// written for: white status text on amber, because "li.room .status"
// (color #fff) outranks ".s-soon .status", which set dark text with the
// amber background. It also passes a good pair.
func TestContrastCheckFindsTheAmberBug(t *testing.T) {
	old := `:root { --ink: #1b1f24; --bg: #f6f8fa; --card: #fff; }
li.room .status { flex: 0 0 10rem; color: #fff; }
.s-soon .status, .s-check_in .status { background: #bf8700; color: #1b1f24; }`
	problems, _, err := contrastProblems(old)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 2 || !strings.Contains(problems[0], `".s-soon .status": text from "li.room .status"`) {
		t.Errorf("problems %q: want the amber cells of both statuses", problems)
	}
	fixed := strings.Replace(old, ".s-soon .status, .s-check_in .status", "li.room.s-soon .status, li.room.s-check_in .status", 1)
	if problems, _, _ := contrastProblems(fixed); len(problems) != 0 {
		t.Errorf("the fixed rule still fails: %q", problems)
	}
	if p, _, _ := contrastProblems(`:root { --ink: #1b1f24; --bg: #f6f8fa; --card: #fff; } .hint { color: #aaa; }`); len(p) != 2 {
		t.Errorf("light grey text on the page: %q, want a problem on each page background", p)
	}
}
