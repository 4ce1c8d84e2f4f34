package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/go-telegram/bot"

	"github.com/corridor-gateway/corridor/intake"
)

var errTooLarge = errors.New("file too large")

// filePathRE is what a Bot API file_path looks like ("photos/file_1.jpg"):
// no escapes, no query, no scheme, so it stays under /file/bot<token>/.
var filePathRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*$`)

// hasMedia reports whether a message carries a file to fetch.
func hasMedia(m *Message) bool {
	return len(m.Photo) > 0 || m.Voice != nil || m.Audio != nil || m.VideoNote != nil || m.Document != nil
}

// fetchMedia takes a message's photo, voice, audio, video note or document:
// getFile, then a download from the Bot API host only, under the size cap.
// A file over the cap is not fetched at all; the sender is told.
func (h *Handler) fetchMedia(ctx context.Context, m *Message, in *intake.Inbound) {
	var id, mime string
	var size int64
	switch {
	case len(m.Photo) > 0:
		// The largest size that fits the cap.
		for _, p := range m.Photo {
			if p.FileSize <= h.cfg.MaxFile && (id == "" || p.Width*p.Height > 0) {
				id, size, mime = p.FileID, p.FileSize, "image/jpeg"
			}
		}
		if id == "" {
			in.MediaError = "too_large"
			return
		}
	case m.Voice != nil:
		id, size, mime = m.Voice.FileID, m.Voice.FileSize, m.Voice.MimeType
	case m.Audio != nil:
		id, size, mime = m.Audio.FileID, m.Audio.FileSize, m.Audio.MimeType
	case m.VideoNote != nil:
		id, size, mime = m.VideoNote.FileID, m.VideoNote.FileSize, "video/mp4"
	case m.Document != nil:
		id, size, mime = m.Document.FileID, m.Document.FileSize, m.Document.MimeType
	default:
		return
	}
	if size > h.cfg.MaxFile {
		in.MediaError = "too_large"
		return
	}
	data, err := h.download(ctx, id)
	switch {
	case errors.Is(err, errTooLarge):
		in.MediaError = "too_large"
	case err != nil:
		in.MediaError = "failed"
	default:
		if mime == "" {
			mime = http.DetectContentType(data)
		}
		in.Media = append(in.Media, intake.Attachment{Name: "telegram-file", ContentType: mime, Data: data})
	}
}

func (h *Handler) download(ctx context.Context, fileID string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	f, err := h.bot.GetFile(ctx, &bot.GetFileParams{FileID: fileID})
	if err != nil {
		return nil, errors.New("getFile failed")
	}
	if f.FileSize > h.cfg.MaxFile {
		return nil, errTooLarge
	}
	p := f.FilePath
	if !filePathRE.MatchString(p) || strings.Contains(p, "..") || path.Clean(p) != p {
		return nil, errors.New("bad file path")
	}
	u := fmt.Sprintf("%s/file/bot%s/%s", h.cfg.APIURL, h.cfg.Token, p)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, errors.New("bad file URL")
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return nil, errors.New("file download failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New("file download failed")
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, h.cfg.MaxFile+1))
	if err != nil {
		return nil, errors.New("file download failed")
	}
	if int64(len(data)) > h.cfg.MaxFile {
		return nil, errTooLarge
	}
	return data, nil
}
