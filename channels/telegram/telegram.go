package telegram

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot"

	"github.com/corridor-gateway/corridor/intake"
)

// Config is the Telegram channel's configuration.
type Config struct {
	Token         string // TELEGRAM_BOT_TOKEN
	WebhookSecret string // TELEGRAM_WEBHOOK_SECRET
	APIURL        string // TELEGRAM_API_URL (default https://api.telegram.org)
	PublicURL     string // where Telegram calls the webhook
	MaxFile       int64  // one media file
	Timeout       time.Duration
	PollTimeout   time.Duration
}

func (c *Config) defaults() {
	if c.APIURL == "" {
		c.APIURL = "https://api.telegram.org"
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	if c.MaxFile == 0 {
		c.MaxFile = 10 << 20
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	if c.PollTimeout == 0 {
		c.PollTimeout = 25 * time.Second
	}
}

// Conversations is the runner.
type Conversations interface {
	Handle(ctx context.Context, in *intake.Inbound) (intake.Reply, bool, error)
}

// Quarantine seals an update we cannot handle, so it does not block the
// chat and is not lost.
type Quarantine interface {
	Quarantine(ctx context.Context, channel, providerID string, raw []byte) error
}

// Handler is the Telegram channel.
type Handler struct {
	cfg        Config
	conv       Conversations
	quarantine Quarantine
	bot        *bot.Bot
	http       *http.Client
	log        *slog.Logger
	secretSum  [32]byte
}

// New returns the channel.
func New(cfg Config, conv Conversations, q Quarantine, log *slog.Logger) (*Handler, error) {
	cfg.defaults()
	if cfg.Token == "" {
		return nil, errors.New("the Telegram channel needs TELEGRAM_BOT_TOKEN")
	}
	api, err := url.Parse(cfg.APIURL)
	if err != nil || api.Host == "" {
		return nil, errors.New("TELEGRAM_API_URL is not a URL")
	}
	hc := &http.Client{Timeout: cfg.PollTimeout + cfg.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	b, err := bot.New(cfg.Token, bot.WithServerURL(cfg.APIURL), bot.WithSkipGetMe(), bot.WithHTTPClient(cfg.Timeout, hc),
		bot.WithErrorsHandler(func(error) {}), bot.WithDebugHandler(func(string, ...any) {}))
	if err != nil {
		return nil, errors.New("the Telegram bot could not be set up")
	}
	h := &Handler{cfg: cfg, conv: conv, quarantine: q, bot: b, http: hc, log: log}
	h.secretSum = sha256.Sum256([]byte(cfg.WebhookSecret))
	return h, nil
}

// Register adds the webhook route.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /channels/telegram", h.webhook)
}

// secretOK compares in constant time, whatever the lengths: both sides are
// hashed first, so the time does not depend on how long a prefix matches.
func (h *Handler) secretOK(got string) bool {
	if h.cfg.WebhookSecret == "" || got == "" {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], h.secretSum[:]) == 1
}

func (h *Handler) webhook(w http.ResponseWriter, r *http.Request) {
	if !h.secretOK(r.Header.Get("X-Telegram-Bot-Api-Secret-Token")) {
		h.log.Info("telegram webhook refused", "status", 401)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxUpdate))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			// Too big to decode: we cannot even tell its update_id, so we
			// cannot quarantine it; Telegram's own cap makes this abuse.
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	u, err := Decode(body)
	if err != nil {
		h.log.Info("telegram webhook malformed")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := h.process(r.Context(), u, body); err != nil {
		h.log.Error("telegram update not stored", "error_kind", "store")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

var tagRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// commandText maps a bot command to the conversation keyword it stands for.
func commandText(text string) (out, tag string, ok bool) {
	if !strings.HasPrefix(text, "/") {
		return text, "", false
	}
	f := strings.Fields(text)
	cmd := strings.ToLower(strings.SplitN(f[0], "@", 2)[0])
	arg := strings.Join(f[1:], " ")
	switch cmd {
	case "/start":
		if tagRE.MatchString(arg) {
			tag = arg
		}
		return "LANG", tag, true
	case "/help":
		return "HELP", "", true
	case "/language", "/lang":
		return "LANG", "", true
	case "/delete":
		if arg != "" {
			return "DELETE " + arg, "", true
		}
		return "DELETE", "", true
	case "/status":
		return "STATUS " + arg, "", true
	case "/stop":
		return "STOP", "", true
	}
	// An unknown command is never testimony: answer with help.
	return "HELP", "", true
}

// process takes one update: quarantine, or the runner and the reply. It
// returns an error only when nothing was committed (so the update may be
// delivered again).
func (h *Handler) process(ctx context.Context, u *Update, raw []byte) error {
	pid := strconv.FormatInt(u.ID, 10)
	kind := u.Kind()
	if kind == "" {
		if err := h.quarantine.Quarantine(ctx, intake.ChannelTelegram, pid, raw); err != nil && !errors.Is(err, intake.ErrDuplicate) {
			return err
		}
		h.log.Info("telegram update quarantined")
		return nil
	}
	in := &intake.Inbound{Channel: intake.ChannelTelegram, ProviderID: pid}
	var chat int64
	var callbackID string
	switch kind {
	case "callback_query":
		cq := u.CallbackQuery
		chat, callbackID = cq.Message.Chat.ID, cq.ID
		in.Choice = strings.TrimPrefix(cq.Data, "o:")
		if cq.From.LanguageCode != "" {
			in.Hints = []string{cq.From.LanguageCode}
		}
	case "message":
		m := u.Message
		chat = m.Chat.ID
		if m.From != nil && m.From.LanguageCode != "" {
			in.Hints = []string{m.From.LanguageCode}
		}
		in.Text = m.Text
		if in.Text == "" {
			in.Text = m.Caption
		}
		if t, tag, ok := commandText(in.Text); ok {
			in.Text, in.Tag, in.Command = t, tag, true
		}
		if m.Location != nil {
			in.Location = fmt.Sprintf("%.6f,%.6f", m.Location.Latitude, m.Location.Longitude)
		}
		if hasMedia(m) {
			in.LoadMedia = func(ctx context.Context) ([]intake.Attachment, string) {
				got := &intake.Inbound{}
				h.fetchMedia(ctx, m, got)
				return got.Media, got.MediaError
			}
		}
	}
	in.Address = strconv.FormatInt(chat, 10)
	reply, dup, err := h.conv.Handle(ctx, in)
	if err != nil {
		return err
	}
	h.log.Info("telegram update taken", "duplicate", dup)
	// Committed: from here on, failures to talk back are logged, and the
	// update is still answered 200 so Telegram does not deliver it again.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.Timeout)
	defer cancel()
	if callbackID != "" {
		if _, err := h.bot.AnswerCallbackQuery(sctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: callbackID}); err != nil {
			h.log.Warn("telegram callback not answered", "error_kind", "provider")
		}
	}
	if !reply.Silent && reply.Text != "" {
		if _, err := h.bot.SendMessage(sctx, &bot.SendMessageParams{ChatID: chat, Text: reply.Text, ReplyMarkup: Keyboard(reply)}); err != nil {
			h.log.Warn("telegram reply not sent", "error_kind", "provider")
		}
	}
	return nil
}

// keyboard is our own inline keyboard: the library's button type always
// serialises copy_text, which Telegram rejects.
type keyboard struct {
	InlineKeyboard [][]button `json:"inline_keyboard"`
}

type button struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data"`
}

// Keyboard renders a reply's menu as inline buttons, two a row when the
// menu is long; nil when there is no menu.
func Keyboard(rep intake.Reply) any {
	if len(rep.Menu) == 0 {
		return nil
	}
	per := 1
	if len(rep.Menu) > 6 {
		per = 2
	}
	var kb keyboard
	var row []button
	for _, m := range rep.Menu {
		row = append(row, button{Text: m.Num + ". " + m.Label, CallbackData: "o:" + m.ID})
		if len(row) == per {
			kb.InlineKeyboard = append(kb.InlineKeyboard, row)
			row = nil
		}
	}
	if len(row) > 0 {
		kb.InlineKeyboard = append(kb.InlineKeyboard, row)
	}
	return kb
}
