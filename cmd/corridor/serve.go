package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/corridor-gateway/corridor/channels/telegram"
	"github.com/corridor-gateway/corridor/channels/twilio"
	"github.com/corridor-gateway/corridor/channels/web"
	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/i18n"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/metrics"
	"github.com/corridor-gateway/corridor/moderation/console"
)

func (m *Main) cmdServe(ctx context.Context, args []string) error {
	f := m.newFlags("serve")
	listen := f.String("listen", "", "address to listen on (default from corridor.toml or CORRIDOR_LISTEN)")
	role := f.String("role", "all", "all, edge or moderation")
	if _, err := f.parse(args); err != nil {
		return err
	}
	return m.serve(ctx, f.paths(), *listen, *role)
}

// server is a running gateway, built from the data dir.
type server struct {
	runner  *intake.Runner
	poll    *telegram.Handler // long polling, when configured
	db      *sqlite.DB
	handler http.Handler
	log     *slog.Logger
}

func (m *Main) buildServer(ctx context.Context, p paths, role string) (*server, *Config, error) {
	switch role {
	case "all", "edge", "moderation":
	default:
		return nil, nil, usagef("--role must be all, edge or moderation")
	}
	log := m.logger()
	cfg, err := loadConfig(p)
	if err != nil {
		return nil, nil, err
	}
	if u := m.Getenv("CORRIDOR_PUBLIC_URL"); u != "" {
		cfg.PublicURL = u
	}
	cust, err := cfg.custodianKeys()
	if err != nil {
		return nil, nil, err
	}
	secret, err := crypto.LoadSecret(p.secret())
	if err != nil {
		return nil, nil, err
	}
	flow, err := intake.LoadFlow(p.flow())
	if err != nil {
		return nil, nil, err
	}
	cat, err := i18n.New()
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(p.custodian()); err == nil {
		log.Warn("the custodian identity is still in the data dir: move it offline once desk members are added", "file", "custodian-identity.txt")
	}
	if _, err := os.Stat(p.signingKey()); err == nil && role == "edge" {
		log.Warn("the dossier signing key is in the edge's data dir: it belongs on the moderation host only", "file", "secrets/signing.key")
	}
	db, err := sqlite.Open(p.db())
	if err != nil {
		return nil, nil, err
	}
	db.SetAuditKey(secret.AuditKey())
	reg := metrics.New()
	svc := &intake.Service{Flow: flow, Store: db, Secret: secret, Custodian: cust, Rules: cfg.Routes, Observer: reg}
	if err := svc.CheckKeys(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	mux := http.NewServeMux()
	var srvPoll *telegram.Handler
	idle := time.Duration(cfg.Conversations.IdleMinutes) * time.Minute
	runner := &intake.Runner{Svc: svc, Store: db, Text: cat, Org: cfg.Organisation, Idle: idle,
		MoreURL: func(lang string) string {
			if cfg.PublicURL == "" {
				return ""
			}
			return strings.TrimRight(cfg.PublicURL, "/") + "/report?lang=" + lang
		}}
	if role != "moderation" && m.Getenv("TWILIO_AUTH_TOKEN") != "" {
		tw, err := twilio.New(twilio.Config{
			PublicURL:  cfg.PublicURL,
			AccountSID: m.Getenv("TWILIO_ACCOUNT_SID"),
			AuthToken:  m.Getenv("TWILIO_AUTH_TOKEN"),
			APIURL:     m.Getenv("TWILIO_API_URL"),
			MaxMedia:   int64(cfg.Twilio.MaxMediaMB) << 20,
			RedactBody: cfg.Twilio.RedactProviderCopy,
			MediaHosts: cfg.Twilio.MediaHosts,
		}, runner, db, secret, reg, log)
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		tw.Register(mux)
		log.Info("twilio channel on")
	}
	if role != "moderation" && m.Getenv("TELEGRAM_BOT_TOKEN") != "" {
		tg, err := telegram.New(telegram.Config{
			Token:         m.Getenv("TELEGRAM_BOT_TOKEN"),
			WebhookSecret: m.Getenv("TELEGRAM_WEBHOOK_SECRET"),
			APIURL:        m.Getenv("TELEGRAM_API_URL"),
			PublicURL:     strings.TrimRight(cfg.PublicURL, "/"),
			MaxFile:       int64(cfg.Telegram.MaxFileMB) << 20,
		}, runner, svc, log)
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		switch cfg.Telegram.Mode {
		case "", "webhook":
			if m.Getenv("TELEGRAM_WEBHOOK_SECRET") == "" {
				db.Close()
				return nil, nil, errors.New("the Telegram webhook needs TELEGRAM_WEBHOOK_SECRET (or set [telegram] mode = \"polling\")")
			}
			tg.Register(mux)
			if cfg.PublicURL != "" {
				if err := tg.SetWebhook(ctx); err != nil {
					log.Warn("telegram webhook not registered", "error_kind", "provider")
				}
			}
		case "polling":
			srvPoll = tg
		default:
			db.Close()
			return nil, nil, fmt.Errorf("[telegram] mode must be webhook or polling, not %q", cfg.Telegram.Mode)
		}
		log.Info("telegram channel on", "mode", cfg.Telegram.Mode)
	}
	if role != "moderation" {
		w := web.New(web.Config{
			Organisation:   cfg.Organisation,
			QuickExitURL:   cfg.Web.QuickExitURL,
			KioskIdle:      cfg.Web.idle(),
			DoneRefresh:    time.Duration(cfg.Web.DoneRefreshSecond) * time.Second,
			MaxAttachment:  int64(cfg.Web.MaxAttachmentMB) << 20,
			MaxAttachments: cfg.Web.MaxAttachments,
			SecureCookies:  strings.HasPrefix(cfg.PublicURL, "https://"),
		}, svc, flow, cat, secret, log)
		w.Register(mux)
		mux.Handle("GET /{$}", http.RedirectHandler("/report", http.StatusSeeOther))
	}
	if role != "edge" {
		// The edge serves no console at all.
		signer, _, err := crypto.LoadOrCreateSigningKey(p.signingKey())
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		con := console.New(console.Config{SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"), Signer: signer, Generator: Version},
			db, secret, cat, log)
		con.Register(mux)
		go con.Run(ctx)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			log.Error("readiness check failed", "error_kind", "store")
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		reg.WriteTo(w)
	})
	return &server{db: db, handler: recoverer(log, mux), log: log, runner: runner, poll: srvPoll}, cfg, nil
}

// expireSessions ends idle conversations once a minute.
func (s *server) expireSessions(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n, err := s.db.ExpireSessions(ctx, now); err != nil {
				s.log.Warn("session expiry failed", "error_kind", "store")
			} else if n > 0 {
				s.log.Info("conversations expired", "count", n)
			}
		}
	}
}

// recoverer turns a panic into a plain 500 without logging the request.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("handler panicked", "route", r.Pattern)
				http.Error(w, "Something went wrong. Nothing was saved.", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (m *Main) serve(ctx context.Context, p paths, listen, role string) error {
	s, cfg, err := m.buildServer(ctx, p, role)
	if err != nil {
		return err
	}
	defer s.db.Close()
	if listen == "" {
		listen = m.Getenv("CORRIDOR_LISTEN")
	}
	if listen == "" {
		listen = cfg.Listen
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v", listen, err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(slog.NewJSONHandler(discard{}, nil), slog.LevelError),
	}
	s.log.Info("corridor serving", "addr", ln.Addr().String(), "role", role)
	if m.Ready != nil {
		m.Ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go s.expireSessions(ctx)
	pollDone := make(chan struct{})
	pctx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	if s.poll != nil {
		go func() { defer close(pollDone); s.poll.Poll(pctx) }()
	} else {
		close(pollDone)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Finish in-flight requests (and so their commits), then close the store.
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stopPoll()
	<-pollDone
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Warn("shutdown did not finish in time")
	}
	s.log.Info("corridor stopped")
	return nil
}

// discard drops net/http's own error log lines, which can echo request
// details (headers, TLS handshakes from addresses).
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
