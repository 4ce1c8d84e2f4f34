package dossier

import (
	"bytes"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
)

// maxPixels bounds an image's declared size before it is decoded, so a
// small file that claims huge dimensions cannot exhaust memory.
const maxPixels = 50_000_000

// stripMetadata re-encodes JPEG, PNG and GIF images from their pixels,
// which drops EXIF, GPS and every other metadata block. It returns nil for
// anything else (other image types, audio, PDF, unreadable files): those
// are withheld from bundles, since their metadata cannot be removed here.
func stripMetadata(contentType string, data []byte) []byte {
	switch contentType {
	case "image/jpeg", "image/png", "image/gif":
	default:
		return nil
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	var out bytes.Buffer
	switch contentType {
	case "image/png":
		err = png.Encode(&out, img)
	case "image/gif":
		err = gif.Encode(&out, img, nil)
	default:
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: 90})
	}
	if err != nil {
		return nil
	}
	return out.Bytes()
}
