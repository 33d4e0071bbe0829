/*
 * tools/finetune_report.h - what `graft finetune` shows and writes besides the
 * checkpoint: the progress bar on stderr, the per-epoch CSV and the SVG plot.
 */
#ifndef GRAFT_TOOLS_FINETUNE_REPORT_H
#define GRAFT_TOOLS_FINETUNE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* One row of the CSV / one point of the plot. test_accuracy is NaN without a test set. */
typedef struct graft_ft_epoch {
    int64_t epoch;         /* 1-based */
    double loss;           /* mean training loss over the epoch's steps */
    double train_accuracy; /* head on the cached training features, after the epoch */
    double test_accuracy;  /* head on the cached test features, after the epoch; NaN if none */
    double seconds;        /* wall time since the command started, at the end of the epoch */
} graft_ft_epoch;

/* Progress on a stream: carriage-return updates of one line when the stream is
 * a terminal, else only plain lines (one per epoch, one per feature pass). */
typedef struct graft_ft_progress {
    FILE *f;
    bool tty;
    double t_start;      /* training start (monotonic seconds) */
    double t_last;       /* last redraw */
    int64_t steps_total; /* all epochs */
    int64_t steps_done;
    int64_t images_done;
    bool line_open; /* a \r line is on screen */
} graft_ft_progress;

double graft_ft_now(void);

void graft_ft_progress_init(graft_ft_progress *p, FILE *f, int64_t steps_total);
/* Feature extraction: `done` of `total` images through the trunk. */
void graft_ft_progress_features(graft_ft_progress *p, const char *what, int64_t done, int64_t total,
                                double t0);
/* A training step finished (loss and accuracy are running means of the epoch). */
void graft_ft_progress_step(graft_ft_progress *p, int64_t epoch, int64_t epochs, int64_t step, int64_t steps,
                            double loss, double acc, int64_t images);
/* An epoch finished: always one plain line. */
void graft_ft_progress_epoch(graft_ft_progress *p, const graft_ft_epoch *e, int64_t epochs);
/* Ends an open \r line (before printing anything else on the stream). */
void graft_ft_progress_break(graft_ft_progress *p);

/* epoch,loss,train_accuracy,test_accuracy,seconds (test_accuracy empty when NaN).
 * Written to path.tmp, then renamed. 0, or -1 with errno set. */
int graft_ft_write_csv(const char *path, const graft_ft_epoch *rows, int64_t n);
/* A hand-written SVG: loss (left axis) and accuracies (right axis, 0..1) per
 * epoch, with axes, ticks, labels, a legend and `title` (XML-escaped). */
int graft_ft_write_svg(const char *path, const graft_ft_epoch *rows, int64_t n, const char *title);

#endif
