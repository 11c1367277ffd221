"""The sender's decisions, as pure functions and pure state (no trio, no socket;
time is passed in): what a submit_sm_resp status means (`outcomes`), how many
submits a bind keeps outstanding and how fast it sends (`pacing`), and what a
deliver_sm says (`receipts`). `engine.dispatch.sender` is the I/O around them."""
