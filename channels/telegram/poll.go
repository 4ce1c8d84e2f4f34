package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-telegram/bot"
)

// SetWebhook registers the webhook URL with its secret token.
func (h *Handler) SetWebhook(ctx context.Context) error {
	if h.cfg.PublicURL == "" || h.cfg.WebhookSecret == "" {
		return errors.New("the Telegram webhook needs CORRIDOR_PUBLIC_URL and TELEGRAM_WEBHOOK_SECRET")
	}
	ok, err := h.bot.SetWebhook(ctx, &bot.SetWebhookParams{URL: h.cfg.PublicURL + "/channels/telegram", SecretToken: h.cfg.WebhookSecret,
		AllowedUpdates: []string{"message", "callback_query"}})
	if err != nil || !ok {
		return errors.New("telegram refused the webhook")
	}
	return nil
}

type updatesResponse struct {
	OK     bool              `json:"ok"`
	Result []json.RawMessage `json:"result"`
}

// Poll long-polls getUpdates until ctx ends (for a kiosk behind NAT). The
// offset moves past an update only after it was committed, so an update is
// never acknowledged before it is durable; one that fails is fetched again.
func (h *Handler) Poll(ctx context.Context) error {
	var offset int64
	backoff := time.Second
	for {
		if ctx.Err() != nil {
			return nil
		}
		ups, err := h.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			h.log.Warn("telegram polling failed", "error_kind", "provider")
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff = time.Second
		for _, raw := range ups {
			u, err := Decode(raw)
			if err != nil {
				// Not even an update_id: nothing to retry or quarantine by.
				h.log.Info("telegram update malformed")
				continue
			}
			if err := h.process(ctx, u, raw); err != nil {
				h.log.Error("telegram update not stored", "error_kind", "store")
				break // fetched again from this offset
			}
			offset = u.ID + 1
		}
	}
}

func (h *Handler) getUpdates(ctx context.Context, offset int64) ([]json.RawMessage, error) {
	u := fmt.Sprintf("%s/bot%s/getUpdates?timeout=%d&offset=%d&allowed_updates=%%5B%%22message%%22%%2C%%22callback_query%%22%%5D",
		h.cfg.APIURL, h.cfg.Token, int(h.cfg.PollTimeout/time.Second), offset)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, errors.New("bad getUpdates URL")
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return nil, errors.New("getUpdates failed")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, errors.New("getUpdates failed")
	}
	var r updatesResponse
	if err := json.Unmarshal(body, &r); err != nil || !r.OK {
		return nil, errors.New("getUpdates answered badly")
	}
	return r.Result, nil
}
