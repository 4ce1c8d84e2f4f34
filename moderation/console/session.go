package console

import (
	"net/http"
	"sync"
	"time"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/moderation"
)

// session is a signed-in console session, in memory only: a restart signs
// everyone out and forgets every unlocked key.
type session struct {
	id       string
	login    string
	role     string
	enrolled bool // TOTP checked (or enrolled) at this login
	csrf     string
	created  time.Time
	seen     time.Time
	keyring  *moderation.Keyring
	desks    []string
}

type sessions struct {
	mu       sync.Mutex
	m        map[string]*session
	idle     time.Duration
	absolute time.Duration
}

func (s *sessions) new(login, role string, enrolled bool, desks []string, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	ss := &session{id: crypto.Token(32), login: login, role: role, enrolled: enrolled, csrf: crypto.Token(20),
		created: now, seen: now, desks: desks}
	s.m[ss.id] = ss
	return ss
}

// get returns a live session and marks it seen; an idle or too old session
// is ended (its keys forgotten).
func (s *sessions) get(id string, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	ss := s.m[id]
	if ss == nil {
		return nil
	}
	if now.Sub(ss.seen) > s.idle || now.Sub(ss.created) > s.absolute {
		s.endLocked(ss)
		return nil
	}
	ss.seen = now
	return ss
}

// sweepLocked ends every idle or too old session, so a moderator who
// closes the tab does not leave desk keys unlocked until a restart.
func (s *sessions) sweepLocked(now time.Time) {
	for _, ss := range s.m {
		if now.Sub(ss.seen) > s.idle || now.Sub(ss.created) > s.absolute {
			s.endLocked(ss)
		}
	}
}

// Sweep ends expired sessions; the console also sweeps at every request.
func (s *sessions) Sweep(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
}

func (s *sessions) endLocked(ss *session) {
	if ss.keyring != nil {
		ss.keyring.Forget()
	}
	delete(s.m, ss.id)
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.m[id]; ss != nil {
		s.endLocked(ss)
	}
}

// endLogin ends every session of an account (disabled account).
func (s *sessions) endLogin(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.m {
		if ss.login == login {
			s.endLocked(ss)
		}
	}
}

func (s *sessions) setKeyring(ss *session, k *moderation.Keyring) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss.keyring != nil {
		ss.keyring.Forget()
	}
	ss.keyring = k
}

// throttle slows password guessing per (login, address) without locking an
// account: someone guessing from elsewhere cannot lock a moderator out.
type throttle struct {
	mu   sync.Mutex
	fail map[string][]time.Time
}

const throttleWindow = 15 * time.Minute

// wait says how long the key must wait before its next try.
func (t *throttle) wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var keep []time.Time
	for _, f := range t.fail[key] {
		if now.Sub(f) < throttleWindow {
			keep = append(keep, f)
		}
	}
	t.fail[key] = keep
	if len(keep) < 5 {
		return 0
	}
	// 5 failures: 30 s, doubling up to 15 min, counted from the last one.
	d := 30 * time.Second << min(len(keep)-5, 5)
	d = min(d, throttleWindow)
	if w := keep[len(keep)-1].Add(d).Sub(now); w > 0 {
		return w
	}
	return 0
}

func (t *throttle) failed(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fail[key] = append(t.fail[key], now)
}

func (t *throttle) ok(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fail, key)
}

func clientAddr(r *http.Request) string {
	a := r.RemoteAddr
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] == ':' {
			return a[:i]
		}
	}
	return a
}

// Login, Role and Unlocked are for templates.
func (s *session) Login() string  { return s.login }
func (s *session) Role() string   { return s.role }
func (s *session) Unlocked() bool { return s.keyring != nil }
