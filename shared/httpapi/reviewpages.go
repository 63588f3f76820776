package httpapi

import (
	"log/slog"
	"net/http"
)

// review serves an access review's page for one reviewer (filled in by the reviews work).
func (p *Pages) review(w http.ResponseWriter, r *http.Request, token, inv string, log *slog.Logger) {
	p.page(w, http.StatusNotFound, view{Title: "Not found", Message: "There is nothing here."})
}
