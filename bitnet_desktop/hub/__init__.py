"""Models from the Hugging Face Hub: resumable, verified downloads and the download queue. No Qt."""
