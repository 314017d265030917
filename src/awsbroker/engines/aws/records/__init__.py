"""What the AWS engine stores, one module per record (`config/root`, `config/lease`, roles,
static roles and their keys): the path modules and the workers both import these, downward,
and they import neither."""
