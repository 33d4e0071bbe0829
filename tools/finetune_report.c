/* tools/finetune_report.c - `graft finetune`'s progress bar (stderr, \r updates on a
 * terminal, plain lines otherwise), its per-epoch CSV and its hand-written SVG plot
 * of loss and accuracy. */
#include "finetune_report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double graft_ft_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void graft_ft_progress_init(graft_ft_progress *p, FILE *f, int64_t steps_total)
{
    memset(p, 0, sizeof *p);
    p->f = f;
    p->tty = isatty(fileno(f)) == 1;
    p->steps_total = steps_total;
    p->t_start = p->t_last = graft_ft_now();
}

void graft_ft_progress_break(graft_ft_progress *p)
{
    if (p->line_open) {
        fputc('\n', p->f);
        p->line_open = false;
    }
}

static void fmt_duration(char *buf, size_t cap, double s)
{
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, cap, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

void graft_ft_progress_features(graft_ft_progress *p, const char *what, int64_t done, int64_t total,
                                double t0)
{
    double el = graft_ft_now() - t0;
    double ips = el > 0 ? (double)done / el : 0;
    if (done < total) {
        if (!p->tty) return;
        double now = graft_ft_now();
        if (now - p->t_last < 0.1) return;
        p->t_last = now;
        fprintf(p->f, "\r\033[K%s: %lld/%lld images through the trunk  %.0f img/s", what, (long long)done,
                (long long)total, ips);
        p->line_open = true;
        fflush(p->f);
        return;
    }
    if (p->tty) fputs("\r\033[K", p->f); /* clear the progress line */
    fprintf(p->f, "%s: %lld images through the trunk in %.1fs (%.0f img/s)\n", what, (long long)total, el,
            ips);
    p->line_open = false;
    fflush(p->f);
}

void graft_ft_progress_step(graft_ft_progress *p, int64_t epoch, int64_t epochs, int64_t step, int64_t steps,
                            double loss, double acc, int64_t images)
{
    p->steps_done++;
    p->images_done += images;
    if (!p->tty) return;
    double now = graft_ft_now();
    if (now - p->t_last < 0.1 && step != steps) return;
    p->t_last = now;
    double el = now - p->t_start;
    double ips = el > 0 ? (double)p->images_done / el : 0;
    double eta =
        p->steps_done > 0 ? el / (double)p->steps_done * (double)(p->steps_total - p->steps_done) : -1;
    char bar[21], etas[32];
    int fill = steps > 0 ? (int)(20 * step / steps) : 20;
    for (int i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
    bar[20] = '\0';
    fmt_duration(etas, sizeof etas, eta);
    fprintf(p->f, "\r\033[Kepoch %lld/%lld [%s] step %lld/%lld  loss %.4f  acc %.3f  %.0f img/s  ETA %s",
            (long long)epoch, (long long)epochs, bar, (long long)step, (long long)steps, loss, acc, ips,
            etas);
    p->line_open = true;
    fflush(p->f);
}

void graft_ft_progress_epoch(graft_ft_progress *p, const graft_ft_epoch *e, int64_t epochs)
{
    double el = graft_ft_now() - p->t_start;
    double ips = el > 0 ? (double)p->images_done / el : 0;
    char test[48] = "";
    if (!isnan(e->test_accuracy)) snprintf(test, sizeof test, "  test_acc %.4f", e->test_accuracy);
    if (p->tty && p->line_open) fputs("\r\033[K", p->f);
    fprintf(p->f, "epoch %lld/%lld  loss %.4f  train_acc %.4f%s  %.0f img/s  %.1fs\n", (long long)e->epoch,
            (long long)epochs, e->loss, e->train_accuracy, test, ips, e->seconds);
    p->line_open = false;
    fflush(p->f);
}

/* ---- CSV ------------------------------------------------------------------------- */

/* Writes to path.tmp and renames it over path. */
static FILE *open_tmp(const char *path, char *tmp, size_t cap)
{
    if ((size_t)snprintf(tmp, cap, "%s.tmp", path) >= cap) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return fopen(tmp, "w");
}

static int close_tmp(FILE *f, const char *tmp, const char *path)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        int e = errno ? errno : EIO;
        unlink(tmp);
        errno = e;
        return -1;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

int graft_ft_write_csv(const char *path, const graft_ft_epoch *rows, int64_t n)
{
    char tmp[4200];
    FILE *f = open_tmp(path, tmp, sizeof tmp);
    if (!f) return -1;
    fprintf(f, "epoch,loss,train_accuracy,test_accuracy,seconds\n");
    for (int64_t i = 0; i < n; i++) {
        const graft_ft_epoch *r = &rows[i];
        fprintf(f, "%lld,%.6g,%.6f,", (long long)r->epoch, r->loss, r->train_accuracy);
        if (!isnan(r->test_accuracy)) fprintf(f, "%.6f", r->test_accuracy);
        fprintf(f, ",%.3f\n", r->seconds);
    }
    return close_tmp(f, tmp, path);
}

/* ---- SVG ------------------------------------------------------------------------- */

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, f);
        }
    }
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about `want` ticks over span. */
static double nice_step(double span, int want)
{
    double raw = span / want, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

enum { W = 720, H = 440, ML = 70, MR = 70, MT = 70, MB = 60 };

/* Plot area: x in [ML, W-MR], y in [MT, H-MB]. */
static double px(double v, double lo, double hi) { return ML + (v - lo) / (hi - lo) * (W - ML - MR); }
static double py(double v, double lo, double hi) { return (H - MB) - (v - lo) / (hi - lo) * (H - MT - MB); }

/* One curve: a polyline over the finite points and a marker on each. */
static void curve(FILE *f, const graft_ft_epoch *rows, int64_t n, int which, double xlo, double xhi,
                  double ylo, double yhi, const char *color, const char *dash)
{
    fprintf(f, "  <polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s%s%s points=\"", color,
            dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
    for (int64_t i = 0; i < n; i++) {
        double v = which == 0 ? rows[i].loss : which == 1 ? rows[i].train_accuracy : rows[i].test_accuracy;
        if (!isfinite(v)) continue;
        if (v > yhi) v = yhi;
        fprintf(f, "%.1f,%.1f ", px((double)rows[i].epoch, xlo, xhi), py(v, ylo, yhi));
    }
    fprintf(f, "\"/>\n");
    for (int64_t i = 0; i < n; i++) {
        double v = which == 0 ? rows[i].loss : which == 1 ? rows[i].train_accuracy : rows[i].test_accuracy;
        if (!isfinite(v)) continue;
        if (v > yhi) v = yhi;
        fprintf(f, "  <circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                px((double)rows[i].epoch, xlo, xhi), py(v, ylo, yhi), color);
    }
}

int graft_ft_write_svg(const char *path, const graft_ft_epoch *rows, int64_t n, const char *title)
{
    char tmp[4200];
    FILE *f = open_tmp(path, tmp, sizeof tmp);
    if (!f) return -1;
    bool has_test = false;
    double lmax = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isfinite(rows[i].loss) && rows[i].loss > lmax) lmax = rows[i].loss;
        if (!isnan(rows[i].test_accuracy)) has_test = true;
    }
    if (lmax <= 0) lmax = 1;
    double lstep = nice_step(lmax, 5), lhi = ceil(lmax / lstep) * lstep;
    /* x: epochs 1..n (one epoch: centred between 0 and 2) */
    double xlo = 1, xhi = (double)(n > 1 ? n : 1);
    if (n <= 1) {
        xlo = 0;
        xhi = 2;
    }
    double xstep = n > 1 ? nice_step((double)(n - 1), 8) : 1;
    if (xstep < 1) xstep = 1;

    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n",
            W, H, W, H);
    fprintf(f, "  <rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
    fprintf(f, "  <text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">", W / 2);
    xml_text(f, title);
    fprintf(f, "</text>\n");
    /* grid + left ticks (loss) */
    for (double v = 0; v <= lhi + lstep * 1e-6; v += lstep) {
        double y = py(v, 0, lhi);
        fprintf(f, "  <line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n", ML, y,
                W - MR, y);
        fprintf(f, "  <text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#1f77b4\">%g</text>\n", ML - 6,
                y + 4, v);
    }
    /* right ticks (accuracy 0..1) */
    for (int k = 0; k <= 5; k++) {
        double v = k / 5.0, y = py(v, 0, 1);
        fprintf(f, "  <line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"black\"/>\n", W - MR, y,
                W - MR + 4, y);
        fprintf(f, "  <text x=\"%d\" y=\"%.1f\" fill=\"#2ca02c\">%.1f</text>\n", W - MR + 7, y + 4, v);
    }
    /* x ticks (epochs) */
    for (double e = 1; e <= (double)n + 1e-9; e = e == 1 && xstep > 1 ? xstep : e + xstep) {
        double x = px(e, xlo, xhi);
        fprintf(f, "  <line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"/>\n", x, H - MB, x,
                H - MB + 4);
        fprintf(f, "  <text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f</text>\n", x, H - MB + 18, e);
    }
    /* axes */
    fprintf(f, "  <line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", ML, H - MB, W - MR,
            H - MB);
    fprintf(f, "  <line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", ML, MT, ML, H - MB);
    fprintf(f, "  <line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", W - MR, MT, W - MR,
            H - MB);
    fprintf(f, "  <text x=\"%d\" y=\"%d\" text-anchor=\"middle\">epoch</text>\n", (ML + W - MR) / 2, H - 18);
    fprintf(
        f,
        "  <text x=\"18\" y=\"%d\" text-anchor=\"middle\" fill=\"#1f77b4\" transform=\"rotate(-90 18 %d)\">"
        "loss</text>\n",
        (MT + H - MB) / 2, (MT + H - MB) / 2);
    fprintf(
        f,
        "  <text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#2ca02c\" transform=\"rotate(90 %d %d)\">"
        "accuracy</text>\n",
        W - 16, (MT + H - MB) / 2, W - 16, (MT + H - MB) / 2);
    /* curves */
    curve(f, rows, n, 0, xlo, xhi, 0, lhi, "#1f77b4", NULL);
    curve(f, rows, n, 1, xlo, xhi, 0, 1, "#2ca02c", NULL);
    if (has_test) curve(f, rows, n, 2, xlo, xhi, 0, 1, "#ff7f0e", "6,3");
    /* legend: one row between the title and the plot */
    static const char *const names[3] = {"training loss (left axis)", "train accuracy", "test accuracy"};
    static const char *const colors[3] = {"#1f77b4", "#2ca02c", "#ff7f0e"};
    int lx = ML, ly = MT - 14;
    for (int k = 0; k < (has_test ? 3 : 2); k++) {
        fprintf(f, "  <line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                lx, ly, lx + 24, ly, colors[k], k == 2 ? " stroke-dasharray=\"6,3\"" : "");
        fprintf(f, "  <text x=\"%d\" y=\"%d\">%s</text>\n", lx + 30, ly + 4, names[k]);
        lx += k == 0 ? 210 : 140;
    }
    fprintf(f, "</svg>\n");
    return close_tmp(f, tmp, path);
}
