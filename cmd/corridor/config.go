package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
)

// Config is corridor.toml: deployment settings, never secrets.
type Config struct {
	Organisation       string        `toml:"organisation"`
	Listen             string        `toml:"listen"`
	PublicURL          string        `toml:"public_url"`
	KeyType            string        `toml:"key_type"`
	CustodianRecipient string        `toml:"custodian_recipient"`
	Routes             []intake.Rule `toml:"routes"`
	Web                WebConfig     `toml:"web"`
	Conversations      ConvConfig    `toml:"conversations"`
	Twilio             TwilioConfig  `toml:"twilio"`
	Telegram           TelegramConf  `toml:"telegram"`
}

// TelegramConf configures the Telegram channel (its secrets come from the
// environment).
type TelegramConf struct {
	Mode      string `toml:"mode"` // "webhook" or "polling"
	MaxFileMB int    `toml:"max_file_mb"`
}

// ConvConfig configures SMS, WhatsApp and Telegram conversations.
type ConvConfig struct {
	IdleMinutes int `toml:"idle_minutes"`
}

// TwilioConfig configures the Twilio channel (its secrets come from the
// environment).
type TwilioConfig struct {
	RedactProviderCopy bool     `toml:"redact_provider_copy"`
	MediaHosts         []string `toml:"media_hosts"`
	MaxMediaMB         int      `toml:"max_media_mb"`
}

// WebConfig configures the web form.
type WebConfig struct {
	QuickExitURL      string `toml:"quick_exit_url"`
	KioskIdleSeconds  int    `toml:"kiosk_idle_seconds"`
	DoneRefreshSecond int    `toml:"done_refresh_seconds"`
	MaxAttachmentMB   int    `toml:"max_attachment_mb"`
	MaxAttachments    int    `toml:"max_attachments"`
}

const defaultConfig = `# Corridor deployment settings. Secrets never go here: they live in
# secrets/ (0600 files) or in the environment (see README).

organisation = %q
listen = "127.0.0.1:8080"
# The external base URL providers call, e.g. "https://intake.example.org".
# CORRIDOR_PUBLIC_URL overrides it.
public_url = ""
# "x25519" (a stock age opens it) or "pq" (hybrid post-quantum, age1pq1...).
key_type = %q
# The custodian's public key: the raw original of every report is sealed to it.
custodian_recipient = %q

[web]
quick_exit_url = "https://www.google.com/search?q=weather"
kiosk_idle_seconds = 300
done_refresh_seconds = 120
max_attachment_mb = 10
max_attachments = 5

[conversations]
# A conversation (SMS, WhatsApp, Telegram) ends after this long without a
# message; what was sealed after consent stays as an incomplete report.
idle_minutes = 1440

[twilio]
# On when TWILIO_AUTH_TOKEN is set. After each commit, blank Twilio's copy of
# the message body through the REST API.
redact_provider_copy = true
# Hosts a media URL may redirect to after the Twilio API host (its media CDN).
media_hosts = []
max_media_mb = 5

[telegram]
# On when TELEGRAM_BOT_TOKEN is set. "webhook" needs a public URL and
# TELEGRAM_WEBHOOK_SECRET; "polling" works behind NAT (a kiosk laptop).
mode = "webhook"
max_file_mb = 10

# Routing: the first rule whose non-empty fields all match picks the desk;
# everything else goes to the desk "default".
# [[routes]]
# language = "ar"
# desk = "arabic"
# [[routes]]
# topic = "DET"
# desk = "detention"
`

// paths of the data dir.
type paths struct{ dir string }

func (p paths) config() string    { return filepath.Join(p.dir, "corridor.toml") }
func (p paths) db() string        { return filepath.Join(p.dir, "corridor.db") }
func (p paths) secret() string    { return filepath.Join(p.dir, "secrets", "pseudonym.key") }
func (p paths) custodian() string { return filepath.Join(p.dir, "custodian-identity.txt") }
func (p paths) flow() string      { return filepath.Join(p.dir, "flow.json") }

func loadConfig(p paths) (*Config, error) {
	var c Config
	md, err := toml.DecodeFile(p.config(), &c)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no Corridor deployment in %s: run corridor init first", p.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("corridor.toml is invalid: %v", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("corridor.toml has an unknown setting %q", und[0].String())
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	return &c, nil
}

// custodianKeys checks the custodian recipient against the key type.
func (c *Config) custodianKeys() (*crypto.KeySet, error) {
	kt, err := crypto.ParseKeyType(c.KeyType)
	if err != nil {
		return nil, err
	}
	if strings.Contains(c.CustodianRecipient, "AGE-SECRET-KEY") {
		return nil, errors.New("corridor.toml holds a secret key as custodian_recipient: put the public key (age1...) there and move the secret offline")
	}
	ks, err := crypto.NewKeySet(c.CustodianRecipient)
	if err != nil {
		return nil, fmt.Errorf("custodian_recipient: %v", err)
	}
	if ks.Type != kt {
		return nil, fmt.Errorf("custodian_recipient is a %s key but key_type is %s: a deployment uses one key type", ks.Type, kt)
	}
	return ks, nil
}

func (w WebConfig) idle() time.Duration { return time.Duration(w.KioskIdleSeconds) * time.Second }
