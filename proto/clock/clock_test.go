package clock

import (
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestFromEnv(t *testing.T) {
	c, moved, err := FromEnv(env(nil))
	if err != nil || moved {
		t.Fatalf("unset: moved %v, err %v", moved, err)
	}
	if d := time.Since(c()); d < 0 || d > time.Minute {
		t.Errorf("unset: the clock is %v off the machine's", d)
	}

	c, moved, err = FromEnv(env(map[string]string{Env: "2026-03-15T23:50:00Z"}))
	if err != nil || !moved {
		t.Fatalf("set: moved %v, err %v", moved, err)
	}
	want := time.Date(2026, 3, 15, 23, 50, 0, 0, time.UTC)
	first := c()
	if d := first.Sub(want); d < 0 || d > time.Minute {
		t.Errorf("set: reads %v, want about %v", first, want)
	}
	time.Sleep(2 * time.Millisecond)
	if !c().After(first) {
		t.Error("a moved clock must keep running, or timeouts never fire")
	}

	if _, _, err := FromEnv(env(map[string]string{Env: "tomorrow at nine"})); err == nil || !strings.Contains(err.Error(), Env) {
		t.Errorf("malformed value: %v, want an error naming %s", err, Env)
	}
}

func TestForTests(t *testing.T) {
	if got := TestStart(env(nil)); !got.Equal(TestDefault) {
		t.Errorf("unset: starts at %v, want TestDefault %v", got, TestDefault)
	}
	at := "2026-03-11T08:11:00Z"
	if got := ForTests(env(map[string]string{Env: at}))(); got.Format("2006-01-02T15:04") != "2026-03-11T08:11" {
		t.Errorf("set: reads %v, want %s", got, at)
	}
	defer func() {
		if recover() == nil {
			t.Error("a malformed LINTEL_TEST_NOW must stop the test binary, not fall back to another time")
		}
	}()
	TestStart(env(map[string]string{Env: "08:11"}))
}

func TestFixed(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := Fixed(at)
	first, second := c(), c()
	if !first.Equal(at) || !second.Equal(at) {
		t.Error("a fixed clock moved")
	}
}
