#ifndef LANEVAULT_CMD_CTL_RECEIPT_H_
#define LANEVAULT_CMD_CTL_RECEIPT_H_

// What the record commands show and keep of an evidence answer's signed
// receipt (ctl_receipt.cc, beside 'lanevaultctl receipt verify').

#include <cstdio>
#include <string>
#include <vector>

#include "lanevault/v1/receipt.pb.h"

namespace lanevault::ctl {

// Prints the answer's restrictions on use ("restrictions: not for
// training; delete after review"), or says the answer carried no receipt.
// Read from the receipt as the server sent it, not verified here. To `out`:
// stderr where stdout is a bare list for scripts (lookup-plate).
void PrintReceiptTerms(const v1::Receipt& receipt, std::FILE* out = stdout);

// With --receipt_out, saves `receipt` there (text format, which 'receipt
// verify' reads) and says how to check it, with `verify_flags` ("--content
// HANDLE=FILE" for each content saved beside it, "--salt HANDLE=HEX" for a
// text's receipt salt). Returns the exit code: 1 when a receipt was asked
// for and the answer had none (nothing is written), else 0.
int SaveReceiptIfAsked(const v1::Receipt& receipt,
                       const std::vector<std::string>& verify_flags);

}  // namespace lanevault::ctl

#endif  // LANEVAULT_CMD_CTL_RECEIPT_H_
