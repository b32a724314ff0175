def kernel_sums(
    x_ptr: int,
    c_ptr: int,
    u_ptr: int,
    v_ptr: int,
    n: int,
    m: int,
    laplacian: bool,
    scale: float,
    floor: float,
    double: bool,
    /,
) -> None: ...

def quadratic(
    x_ptr: int,
    c_ptr: int,
    loss_ptr: int,
    gx_ptr: int,
    uc_ptr: int,
    n: int,
    laplacian: bool,
    scale: float,
    floor: float,
    alpha: float,
    weight: float,
    double: bool,
    /,
) -> None: ...
