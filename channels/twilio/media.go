package twilio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/corridor-gateway/corridor/intake"
)

var errTooLarge = errors.New("media too large")

// fetchMedia downloads one MediaUrlN, only when it is on the Twilio API host,
// with the account's basic auth, a timeout and a size cap.
func (h *Handler) fetchMedia(ctx context.Context, raw string) (*intake.Attachment, error) {
	u, err := url.Parse(raw)
	api, _ := url.Parse(h.cfg.APIURL)
	if err != nil || u.Scheme != api.Scheme || u.Host != api.Host || u.User != nil {
		return nil, errors.New("media URL outside the Twilio API host")
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(h.cfg.AccountSID, h.cfg.AuthToken)
	resp, err := h.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("media fetch: status %d", resp.StatusCode)
	}
	if resp.ContentLength > h.cfg.MaxMedia {
		return nil, errTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, h.cfg.MaxMedia+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > h.cfg.MaxMedia {
		return nil, errTooLarge
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct == "" || ct == "application/octet-stream" {
		ct = http.DetectContentType(data)
	}
	name := "media"
	if i := strings.LastIndexByte(u.Path, '/'); i >= 0 {
		name = u.Path[i+1:]
	}
	return &intake.Attachment{Name: name, ContentType: ct, Data: data}, nil
}
