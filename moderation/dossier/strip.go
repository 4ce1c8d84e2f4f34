package dossier

import (
	"bytes"
	"image"
	_ "image/gif" // decoders for re-encoding
	"image/jpeg"
	"image/png"
)

// stripMetadata re-encodes JPEG and PNG images from their pixels, which
// drops EXIF, GPS and every other metadata block. Other files are kept as
// they are (the console warns moderators about them).
func stripMetadata(contentType string, data []byte) []byte {
	switch contentType {
	case "image/jpeg", "image/png":
	default:
		return data
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil // not a readable image: leave it out rather than leak it
	}
	var out bytes.Buffer
	if contentType == "image/png" {
		err = png.Encode(&out, img)
	} else {
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: 90})
	}
	if err != nil {
		return nil
	}
	return out.Bytes()
}
